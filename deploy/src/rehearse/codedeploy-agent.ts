// The CodeDeploy agent's part of an in-place deployment on one instance, plus the service's
// BlockTraffic/AllowTraffic against the load balancer, following the real agent (1.8.1). Where
// the agent keeps things mirrors /opt/codedeploy-agent/deployment-root: <group id>/<deployment
// id>/deployment-archive holds each revision (the five newest kept, and always the last
// successful one), deployment-instructions/<group id>_last_successful_install names the archive
// whose scripts run for ApplicationStop (and Before/AfterBlockTraffic) next time. The agent
// writes it once Install finishes, not when the deployment succeeds: a revision that fails
// ValidateService supplies the next deployment's ApplicationStop.
import {
  accessSync,
  appendFileSync,
  chmodSync,
  chownSync,
  constants,
  copyFileSync,
  existsSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { basename, dirname, join, relative } from "node:path";
import {
  type Appspec,
  AppspecError,
  type AppspecPermission,
  readAppspec,
  unknownHookEvents,
} from "./appspec.js";
import { runHook } from "./hook-runner.js";
import {
  type LifecycleEventName,
  lifecycleEvents,
  previousRevisionEvents,
  type ScriptEventName,
  type StepEventName,
} from "./lifecycle.js";
import { type LocalInstance, shimDir } from "./local-instance.js";
import { patternToRegExp } from "./path-patterns.js";
import type { TrafficControl } from "./traffic-control.js";

export interface DeploymentIdentity {
  readonly deploymentId: string;
  readonly applicationName: string;
  readonly deploymentGroupName: string;
  readonly deploymentGroupId: string;
}

/** Where an S3 revision came from (CodePipeline deploys these); the agent passes it to hooks. */
export interface S3Location {
  readonly bucket: string;
  readonly key: string;
  readonly version?: string;
  readonly etag?: string;
}

export type EventStatus = "Succeeded" | "Failed" | "Skipped";

export interface EventRecord {
  readonly instanceId: string;
  readonly event: LifecycleEventName;
  readonly status: EventStatus;
  readonly durationMs: number;
  /** Why it was skipped or how it failed. */
  readonly message?: string;
  /** The script's output (stamped stdout:/stderr: lines, and the agent's own warnings). */
  readonly output: readonly string[];
}

export interface AgentOptions {
  readonly instance: LocalInstance;
  /** Folder holding the revision's bundle (appspec.yml or appspec.yaml at its root). */
  readonly bundleDir: string;
  /** Set when the revision is an S3 object: hooks then get BUNDLE_BUCKET/KEY/VERSION/ETAG. */
  readonly s3?: S3Location;
  readonly identity: DeploymentIdentity;
  readonly loadBalancer: TrafficControl;
  /** Bound on AllowTraffic's wait for the target to pass its health checks. Default: 60 s. */
  readonly allowTrafficTimeoutMs?: number;
  /** Extra variables for every script (the FLEETLINE_* seam). Default: none. */
  readonly hookEnv?: Readonly<Record<string, string>>;
  /** Called as each event ends. Default: nothing. */
  readonly onEvent?: (record: EventRecord) => void;
  /** Called for each line a script prints. Default: nothing. */
  readonly onScriptLine?: (event: LifecycleEventName, line: string) => void;
  /**
   * CodeDeploy's --ignore-application-stop-failures: a failing ApplicationStop (the previous
   * revision's script) is logged and the deployment goes on. The way out when an old revision's
   * stop script is broken. Default false.
   */
  readonly ignoreApplicationStopFailures?: boolean;
}

export interface InstanceDeploymentResult {
  readonly instanceId: string;
  readonly succeeded: boolean;
  readonly events: readonly EventRecord[];
  readonly failed?: EventRecord;
}

/** The agent's :max_revisions: archives kept per deployment group, the new one included. */
export const archivesKept = 5;

type Outcome = Omit<EventRecord, "instanceId" | "event" | "durationMs">;

function lastSuccessfulFile(instance: LocalInstance, groupId: string): string {
  return join(instance.agentRoot, "deployment-instructions", `${groupId}_last_successful_install`);
}

function cleanupFile(instance: LocalInstance, groupId: string): string {
  return join(instance.agentRoot, "deployment-instructions", `${groupId}-cleanup`);
}

/** The deployment folder of the last revision whose Install finished here, if any. */
function lastSuccessfulDeployment(instance: LocalInstance, groupId: string): string | undefined {
  const file = lastSuccessfulFile(instance, groupId);
  return existsSync(file) ? readFileSync(file, "utf8").trim() : undefined;
}

/** The archive of the last revision whose Install finished here, if any. */
export function lastSuccessfulArchive(
  instance: LocalInstance,
  groupId: string,
): string | undefined {
  const dir = lastSuccessfulDeployment(instance, groupId);
  const archive = dir ? join(dir, "deployment-archive") : undefined;
  return archive && existsSync(archive) ? archive : undefined;
}

/**
 * At download, as the agent's cleanup_old_archives: the oldest archives go until, with the new
 * one, `archivesKept` remain; the last successful one is never removed (so it may be one more).
 */
function pruneArchives(instance: LocalInstance, groupId: string, current: string): void {
  const groupDir = join(instance.agentRoot, groupId);
  if (!existsSync(groupDir)) return;
  const others = readdirSync(groupDir)
    .map((name) => join(groupDir, name))
    .filter((dir) => dir !== current);
  const extra = others.length - archivesKept + 1;
  if (extra <= 0) return;
  const keep = lastSuccessfulDeployment(instance, groupId);
  const oldest = others
    .filter((dir) => dir !== keep)
    .sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs)
    .slice(0, extra);
  for (const dir of oldest) rmSync(dir, { recursive: true, force: true });
}

/** Names to ids in the instance's own account files (etc/passwd, etc/group). */
function idOf(instance: LocalInstance, file: "passwd" | "group", name: string): number {
  if (/^\d+$/.test(name)) return Number(name);
  const path = join(instance.root, "etc", file);
  const line = existsSync(path)
    ? readFileSync(path, "utf8")
        .split("\n")
        .find((l) => l.split(":")[0] === name)
    : undefined;
  const id = line?.split(":")[2];
  if (id === undefined)
    throw new Error(
      `permissions: no ${file === "passwd" ? "user" : "group"} ${name} on the instance`,
    );
  return Number(id);
}

/** Everything below `dir` (folders before what they hold), as paths relative to it. */
function walk(dir: string, prefix = ""): Array<{ rel: string; directory: boolean }> {
  const out: Array<{ rel: string; directory: boolean }> = [];
  for (const entry of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix === "" ? entry.name : `${prefix}/${entry.name}`;
    out.push({ rel, directory: entry.isDirectory() });
    if (entry.isDirectory()) out.push(...walk(dir, rel));
  }
  return out;
}

export async function deployToInstance(options: AgentOptions): Promise<InstanceDeploymentResult> {
  const { instance, identity, loadBalancer } = options;
  const groupId = identity.deploymentGroupId;
  const deploymentDir = join(instance.agentRoot, groupId, identity.deploymentId);
  const archive = join(deploymentDir, "deployment-archive");
  const previousArchive = lastSuccessfulArchive(instance, groupId);
  const events: EventRecord[] = [];
  const isRegistered = () => loadBalancer.targets().some((t) => t.id === instance.id);

  // Read when first needed, as the agent parses the appspec per event: an invalid one fails the
  // first event that reads it.
  const specs = new Map<string, Appspec>();
  const specOf = (dir: string): Appspec => {
    let spec = specs.get(dir);
    if (!spec) {
      spec = readAppspec(dir);
      specs.set(dir, spec);
    }
    return spec;
  };

  // Where the real agent keeps every script's output: per deployment, and one log for all.
  const scriptLog = (event: LifecycleEventName, line: string) => {
    const [stream, ...rest] = line.split(": ");
    const stamp = new Date().toISOString().replace("T", " ").slice(0, 19);
    const entry = `[${stamp}] [${identity.deploymentId}][${event}][${stream}]${rest.join(": ")}\n`;
    mkdirSync(join(deploymentDir, "logs"), { recursive: true });
    appendFileSync(join(deploymentDir, "logs", "scripts.log"), entry);
    mkdirSync(join(instance.agentRoot, "deployment-logs"), { recursive: true });
    appendFileSync(
      join(instance.agentRoot, "deployment-logs", "codedeploy-agent-deployments.log"),
      entry,
    );
  };

  // The agent's own environment (hooks inherit it) plus what it adds for each script.
  const hookEnvironment = (event: LifecycleEventName): NodeJS.ProcessEnv => ({
    ...process.env,
    PATH: `${shimDir}:${process.env.PATH ?? "/usr/bin:/bin"}`,
    LIFECYCLE_EVENT: event,
    DEPLOYMENT_ID: identity.deploymentId,
    APPLICATION_NAME: identity.applicationName,
    DEPLOYMENT_GROUP_NAME: identity.deploymentGroupName,
    DEPLOYMENT_GROUP_ID: identity.deploymentGroupId,
    ...(options.s3
      ? {
          BUNDLE_BUCKET: options.s3.bucket,
          BUNDLE_KEY: options.s3.key,
          ...(options.s3.version ? { BUNDLE_VERSION: options.s3.version } : {}),
          ...(options.s3.etag ? { BUNDLE_ETAG: options.s3.etag } : {}),
        }
      : {}),
    FLEETLINE_ROOT: instance.root,
    FLEETLINE_HEALTH_URL: instance.healthUrl,
    ...options.hookEnv,
  });

  const runScripts = async (event: ScriptEventName): Promise<Outcome> => {
    const dir = previousRevisionEvents.has(event) ? previousArchive : archive;
    if (!dir) {
      return { status: "Skipped", message: "first deployment on this instance", output: [] };
    }
    const hooks = specOf(dir).hooks[event] ?? [];
    if (hooks.length === 0) {
      return { status: "Skipped", message: "no script in appspec", output: [] };
    }
    const output: string[] = [];
    const failed = (message: string): Outcome => {
      const ignored = event === "ApplicationStop" && options.ignoreApplicationStopFailures === true;
      return {
        status: "Failed",
        message: ignored ? `${message}; ignored (--ignore-application-stop-failures)` : message,
        output,
      };
    };
    for (const hook of hooks) {
      const script = join(dir, hook.location);
      const at = `Script at specified location: ${hook.location}`;
      if (!existsSync(script)) {
        return failed(`Script does not exist at specified location: ${hook.location}`);
      }
      try {
        accessSync(script, constants.X_OK);
      } catch {
        output.push(`agent: [warn] ${at} is not executable.  Trying to make it executable.`);
        try {
          chmodSync(script, statSync(script).mode | 0o111);
        } catch {
          return failed(
            `Unable to set script at specified location: ${hook.location} as executable`,
          );
        }
      }
      output.push(`agent: ${hook.location}${hook.runas ? ` (runas ${hook.runas})` : ""}`);
      const result = await runHook({
        script,
        // The agent's working directory, not the archive: scripts find their files by their path.
        cwd: process.cwd(),
        timeoutSeconds: hook.timeoutSeconds,
        ...(hook.runas
          ? { runas: hook.runas, passwdFile: join(instance.root, "etc", "passwd") }
          : {}),
        env: hookEnvironment(event),
        onLine: (line) => {
          scriptLog(event, line);
          options.onScriptLine?.(event, line);
        },
      });
      output.push(...result.output);
      if (result.outputHeldOpen) {
        return failed(
          `${at} failed to close STDOUT within ${hook.timeoutSeconds} seconds (a process it started still holds it; redirect that process's output)`,
        );
      }
      if (result.timedOut) {
        return failed(`${at} failed to complete in ${hook.timeoutSeconds} seconds`);
      }
      if (result.exitCode !== 0) {
        const who = hook.runas ? ` run as user ${hook.runas}` : "";
        return failed(`${at}${who} failed with exit code ${result.exitCode}`);
      }
    }
    return { status: "Succeeded", output };
  };

  /** The previous install's files go, then the folders it created, each once empty. */
  const removePreviousInstall = () => {
    const cleanup = cleanupFile(instance, groupId);
    if (!existsSync(cleanup)) return;
    const entries = readFileSync(cleanup, "utf8").split("\n").filter(Boolean);
    for (const path of entries.filter((p) => !p.endsWith("/"))) rmSync(path, { force: true });
    // Deepest first, so a folder is empty by the time its turn comes.
    for (const dir of entries.filter((p) => p.endsWith("/")).reverse()) {
      try {
        rmdirSync(dir);
      } catch {
        // Not empty (something else put files there) or gone: the agent leaves it too.
      }
    }
  };

  const applyPermission = (permission: AppspecPermission) => {
    const object = join(instance.root, permission.object);
    if (!existsSync(object)) return;
    const include = patternToRegExp(permission.pattern);
    const except = permission.except.map(patternToRegExp);
    const targets: Array<{ path: string; directory: boolean }> = [];
    if (statSync(object).isDirectory()) {
      for (const { rel, directory } of walk(object)) {
        const name = basename(rel);
        if (!include.test(rel) && !include.test(name)) continue;
        if (except.some((r) => r.test(rel) || r.test(name))) continue;
        targets.push({ path: join(object, rel), directory });
      }
    } else {
      targets.push({ path: object, directory: false });
    }
    for (const { path, directory } of targets) {
      if (!permission.type.includes(directory ? "directory" : "file")) continue;
      if (permission.mode !== undefined) chmodSync(path, permission.mode);
      if (permission.owner !== undefined || permission.group !== undefined) {
        const st = statSync(path);
        chownSync(
          path,
          permission.owner !== undefined ? idOf(instance, "passwd", permission.owner) : st.uid,
          permission.group !== undefined ? idOf(instance, "group", permission.group) : st.gid,
        );
      }
    }
  };

  const install = (spec: Appspec): Outcome => {
    const unknown = unknownHookEvents(spec);
    if (unknown.length > 0) {
      throw new AppspecError(
        `${spec.file}: hooks name events that do not exist: ${unknown.join(", ")} (the agent rejects them at Install)`,
      );
    }
    // Where every file goes, checked whole before anything is copied.
    const plan: Array<{ source: string; target: string; directory: boolean }> = [];
    const seen = new Map<string, string>();
    for (const entry of spec.files) {
      const from = join(archive, entry.source);
      if (!existsSync(from)) throw new Error(`files: ${entry.source} is not in the bundle`);
      const to = join(instance.root, entry.destination);
      const items = statSync(from).isDirectory()
        ? walk(from).map(({ rel, directory }) => ({
            source: join(from, rel),
            target: join(to, rel),
            directory,
          }))
        : [{ source: from, target: join(to, relative(dirname(from), from)), directory: false }];
      for (const item of items) {
        if (item.directory) {
          plan.push(item);
          continue;
        }
        const other = seen.get(item.target);
        if (other !== undefined) {
          throw new AppspecError(
            `The deployment failed because the application specification file specifies two source files (${other}, ${relative(archive, item.source)}) trying to copy to the same destination: ${item.target}`,
          );
        }
        seen.set(item.target, relative(archive, item.source));
        plan.push(item);
      }
    }

    removePreviousInstall();
    const created: string[] = [];
    const makeDir = (dir: string, like?: string) => {
      if (existsSync(dir)) return;
      makeDir(dirname(dir));
      mkdirSync(dir);
      if (like) copyAttributes(like, dir);
      created.push(`${dir}/`);
    };
    let files = 0;
    for (const { source, target, directory } of plan) {
      if (directory) {
        makeDir(target, source);
        continue;
      }
      if (existsSync(target)) {
        if (spec.fileExistsBehavior === "RETAIN") continue;
        if (spec.fileExistsBehavior === "DISALLOW") {
          throw new Error(
            `The deployment failed because a specified file already exists at this location: ${target}`,
          );
        }
        rmSync(target, { force: true });
      }
      makeDir(dirname(target));
      copyFileSync(source, target);
      copyAttributes(source, target);
      created.push(target);
      files++;
    }
    for (const permission of spec.permissions) applyPermission(permission);
    const cleanup = cleanupFile(instance, groupId);
    mkdirSync(dirname(cleanup), { recursive: true });
    writeFileSync(cleanup, created.length > 0 ? `${created.join("\n")}\n` : "");
    // Install finished: from now on this is the revision whose ApplicationStop runs next time,
    // whatever the later events do.
    writeFileSync(lastSuccessfulFile(instance, groupId), `${deploymentDir}\n`);
    return { status: "Succeeded", message: `${files} files`, output: [] };
  };

  const steps: Record<StepEventName, () => Promise<Outcome>> = {
    BlockTraffic: async () => {
      if (!isRegistered()) {
        return { status: "Skipped", message: "not registered with the load balancer", output: [] };
      }
      await loadBalancer.deregister(instance.id);
      return { status: "Succeeded", message: "deregistered and drained", output: [] };
    },
    DownloadBundle: async () => {
      pruneArchives(instance, groupId, deploymentDir);
      rmSync(archive, { recursive: true, force: true });
      mkdirSync(dirname(archive), { recursive: true });
      copyTree(options.bundleDir, archive);
      return { status: "Succeeded", output: [] };
    },
    Install: async () => install(specOf(archive)),
    AllowTraffic: async () => {
      // A target left registered by a failed AllowTraffic is already there; the ALB too
      // treats registering a registered target as a no-op.
      if (!isRegistered()) loadBalancer.register(instance.target);
      await loadBalancer.waitForHealthy(instance.id, options.allowTrafficTimeoutMs ?? 60_000);
      return { status: "Succeeded", message: "registered and healthy", output: [] };
    },
  };

  for (const { name: event, by } of lifecycleEvents) {
    const started = Date.now();
    let outcome: Outcome;
    try {
      outcome =
        by === "script"
          ? await runScripts(event as ScriptEventName)
          : await steps[event as StepEventName]();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      outcome = { status: "Failed", message, output: [] };
    }
    const record: EventRecord = {
      instanceId: instance.id,
      event,
      durationMs: Date.now() - started,
      ...outcome,
    };
    events.push(record);
    options.onEvent?.(record);
    if (record.status === "Failed") {
      if (event === "ApplicationStop" && options.ignoreApplicationStopFailures) continue;
      return { instanceId: instance.id, succeeded: false, events, failed: record };
    }
  }
  return { instanceId: instance.id, succeeded: true, events };
}

/** Mode, access and modification times, and (as root) owner of `from`, onto `to`. */
function copyAttributes(from: string, to: string): void {
  const st = lstatSync(from);
  chmodSync(to, st.mode & 0o7777);
  utimesSync(to, st.atime, st.mtime);
  if (process.getuid?.() === 0) lchownSync(to, st.uid, st.gid);
}

/** The bundle into the archive folder, keeping what unpacking the agent's zip/tar keeps. */
function copyTree(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const { rel, directory } of walk(from)) {
    const source = join(from, rel);
    const target = join(to, rel);
    if (directory) mkdirSync(target, { recursive: true });
    else copyFileSync(source, target);
    copyAttributes(source, target);
  }
  copyAttributes(from, to);
}
