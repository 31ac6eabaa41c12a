// The CodeDeploy agent's part of an in-place deployment on one instance, plus the service's
// BlockTraffic/AllowTraffic against the load balancer. Where the agent keeps things mirrors
// /opt/codedeploy-agent/deployment-root: <group id>/<deployment id>/deployment-archive holds each
// revision, deployment-instructions/<group id>_last_successful_install names the archive whose
// scripts run for ApplicationStop (and Before/AfterBlockTraffic) next time.
import {
  appendFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, relative } from "node:path";
import { type Appspec, readAppspec } from "./appspec.js";
import { runHook } from "./hook-runner.js";
import { type LifecycleEventName, lifecycleEvents, previousRevisionEvents } from "./lifecycle.js";
import { type LocalInstance, shimDir } from "./local-instance.js";
import { listFiles } from "./path-patterns.js";
import type { TrafficControl } from "./traffic-control.js";

export interface DeploymentIdentity {
  readonly deploymentId: string;
  readonly applicationName: string;
  readonly deploymentGroupName: string;
  readonly deploymentGroupId: string;
}

export type EventStatus = "Succeeded" | "Failed" | "Skipped";

export interface EventRecord {
  readonly instanceId: string;
  readonly event: LifecycleEventName;
  readonly status: EventStatus;
  readonly durationMs: number;
  /** Why it was skipped or how it failed. */
  readonly message?: string;
  /** The script's output (stamped stdout:/stderr: lines). */
  readonly output: readonly string[];
}

export interface AgentOptions {
  readonly instance: LocalInstance;
  /** Folder holding the revision's bundle (appspec.yml at its root). */
  readonly bundleDir: string;
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

function lastSuccessfulFile(instance: LocalInstance, groupId: string): string {
  return join(instance.agentRoot, "deployment-instructions", `${groupId}_last_successful_install`);
}

function cleanupFile(instance: LocalInstance, groupId: string): string {
  return join(instance.agentRoot, "deployment-instructions", `${groupId}-cleanup`);
}

/** The archive of the last revision that deployed successfully here, if any. */
export function lastSuccessfulArchive(
  instance: LocalInstance,
  groupId: string,
): string | undefined {
  const file = lastSuccessfulFile(instance, groupId);
  if (!existsSync(file)) return undefined;
  const archive = join(readFileSync(file, "utf8").trim(), "deployment-archive");
  return existsSync(archive) ? archive : undefined;
}

/** The agent keeps the archives of its last five deployments per group (:max_revisions: 5). */
function pruneArchives(instance: LocalInstance, groupId: string, keep: string): void {
  const groupDir = join(instance.agentRoot, groupId);
  const dirs = readdirSync(groupDir)
    .map((name) => join(groupDir, name))
    .filter((dir) => dir !== keep)
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  for (const dir of dirs.slice(4)) rmSync(dir, { recursive: true, force: true });
}

export async function deployToInstance(options: AgentOptions): Promise<InstanceDeploymentResult> {
  const { instance, identity, loadBalancer } = options;
  const deploymentDir = join(instance.agentRoot, identity.deploymentGroupId, identity.deploymentId);
  const archive = join(deploymentDir, "deployment-archive");
  const previousArchive = lastSuccessfulArchive(instance, identity.deploymentGroupId);
  const previousAppspec = previousArchive ? readAppspec(previousArchive) : undefined;
  let appspec: Appspec | undefined;
  const events: EventRecord[] = [];

  const record = (r: Omit<EventRecord, "instanceId">): EventRecord => {
    const full = { instanceId: instance.id, ...r };
    events.push(full);
    options.onEvent?.(full);
    return full;
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

  const runScripts = async (
    event: LifecycleEventName,
    spec: Appspec | undefined,
    dir: string | undefined,
  ) => {
    const started = Date.now();
    const hooks = spec?.hooks[event] ?? [];
    if (!spec || !dir) {
      return record({
        event,
        status: "Skipped",
        durationMs: 0,
        message: "first deployment on this instance",
        output: [],
      });
    }
    if (hooks.length === 0) {
      return record({
        event,
        status: "Skipped",
        durationMs: 0,
        message: "no script in appspec",
        output: [],
      });
    }
    const output: string[] = [];
    for (const hook of hooks) {
      const script = join(dir, hook.location);
      const result = await runHook({
        script,
        cwd: dir,
        timeoutSeconds: hook.timeoutSeconds,
        env: {
          PATH: `${shimDir}:${process.env.PATH ?? "/usr/bin:/bin"}`,
          HOME: process.env.HOME ?? "/root",
          LANG: process.env.LANG ?? "C.UTF-8",
          LIFECYCLE_EVENT: event,
          DEPLOYMENT_ID: identity.deploymentId,
          APPLICATION_NAME: identity.applicationName,
          DEPLOYMENT_GROUP_NAME: identity.deploymentGroupName,
          DEPLOYMENT_GROUP_ID: identity.deploymentGroupId,
          FLEETLINE_ROOT: instance.root,
          FLEETLINE_HEALTH_URL: instance.healthUrl,
          ...options.hookEnv,
        },
        onLine: (line) => {
          scriptLog(event, line);
          options.onScriptLine?.(event, line);
        },
      });
      output.push(`agent: ${hook.location}`, ...result.output);
      if (result.timedOut || result.exitCode !== 0) {
        const message = result.timedOut
          ? `Script at specified location: ${hook.location} failed to complete in ${hook.timeoutSeconds} seconds`
          : `Script at specified location: ${hook.location} failed with exit code ${result.exitCode}`;
        const ignored =
          event === "ApplicationStop" && options.ignoreApplicationStopFailures === true;
        return record({
          event,
          status: "Failed",
          durationMs: Date.now() - started,
          message: ignored ? `${message}; ignored (--ignore-application-stop-failures)` : message,
          output,
        });
      }
    }
    return record({ event, status: "Succeeded", durationMs: Date.now() - started, output });
  };

  const install = (spec: Appspec): string[] => {
    // The agent removes what the previous deployment installed before laying down the new files.
    const cleanup = cleanupFile(instance, identity.deploymentGroupId);
    if (existsSync(cleanup)) {
      for (const file of readFileSync(cleanup, "utf8").split("\n").filter(Boolean))
        rmSync(file, { force: true });
    }
    const installed: string[] = [];
    for (const entry of spec.files) {
      const from = join(archive, entry.source);
      const to = join(instance.root, entry.destination);
      const files = statSync(from).isDirectory() ? listFiles(from) : [""];
      for (const rel of files) {
        const source = rel === "" ? from : join(from, rel);
        const target = rel === "" ? join(to, relative(dirname(from), from)) : join(to, rel);
        if (existsSync(target)) {
          if (spec.fileExistsBehavior === "RETAIN") continue;
          if (spec.fileExistsBehavior === "DISALLOW") {
            throw new Error(
              `The deployment failed because a specified file already exists at this location: ${target}`,
            );
          }
        }
        mkdirSync(dirname(target), { recursive: true });
        cpSync(source, target, { force: true });
        installed.push(target);
      }
    }
    mkdirSync(dirname(cleanup), { recursive: true });
    writeFileSync(cleanup, `${installed.join("\n")}\n`);
    return installed;
  };

  for (const { name: event } of lifecycleEvents) {
    const started = Date.now();
    let result: EventRecord;
    try {
      if (event === "BlockTraffic") {
        const registered = loadBalancer.targets().some((t) => t.id === instance.id);
        if (!registered) {
          result = record({
            event,
            status: "Skipped",
            durationMs: 0,
            message: "not registered with the load balancer",
            output: [],
          });
        } else {
          await loadBalancer.deregister(instance.id);
          result = record({
            event,
            status: "Succeeded",
            durationMs: Date.now() - started,
            message: "deregistered and drained",
            output: [],
          });
        }
      } else if (event === "AllowTraffic") {
        // A target left registered by a failed AllowTraffic is already there; the ALB too
        // treats registering a registered target as a no-op.
        if (!loadBalancer.targets().some((t) => t.id === instance.id)) {
          loadBalancer.register(instance.target);
        }
        await loadBalancer.waitForHealthy(instance.id, options.allowTrafficTimeoutMs ?? 60_000);
        result = record({
          event,
          status: "Succeeded",
          durationMs: Date.now() - started,
          message: "registered and healthy",
          output: [],
        });
      } else if (event === "DownloadBundle") {
        rmSync(archive, { recursive: true, force: true });
        cpSync(options.bundleDir, archive, { recursive: true });
        appspec = readAppspec(archive);
        result = record({
          event,
          status: "Succeeded",
          durationMs: Date.now() - started,
          output: [],
        });
      } else if (event === "Install") {
        if (!appspec) throw new Error("Install before DownloadBundle");
        const installed = install(appspec);
        result = record({
          event,
          status: "Succeeded",
          durationMs: Date.now() - started,
          message: `${installed.length} files`,
          output: [],
        });
      } else if (previousRevisionEvents.has(event)) {
        result = await runScripts(event, previousAppspec, previousArchive);
      } else {
        result = await runScripts(event, appspec, archive);
      }
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      result = record({
        event,
        status: "Failed",
        durationMs: Date.now() - started,
        message,
        output: [],
      });
    }
    if (result.status === "Failed") {
      if (event === "ApplicationStop" && options.ignoreApplicationStopFailures) continue;
      return { instanceId: instance.id, succeeded: false, events, failed: result };
    }
  }
  pruneArchives(instance, identity.deploymentGroupId, deploymentDir);

  const instructions = lastSuccessfulFile(instance, identity.deploymentGroupId);
  mkdirSync(dirname(instructions), { recursive: true });
  writeFileSync(instructions, `${deploymentDir}\n`);
  return { instanceId: instance.id, succeeded: true, events };
}
