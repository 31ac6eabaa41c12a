// The CodeDeploy agent's part of an in-place deployment on one instance, plus the service's
// BlockTraffic/AllowTraffic against the load balancer, following the real agent (1.8.1). The
// lifecycle table (lifecycle.ts) drives it: script events run the hooks of the current revision
// or of the last successful install (ApplicationStop and the BlockTraffic pair), the others have
// one handler each below. The agent marks the last successful install once Install finishes,
// not when the deployment succeeds: a revision that fails ValidateService supplies the next
// deployment's ApplicationStop. Its bookkeeping is deployment-root.ts, its file work
// install-files.ts, one script's run hook-runner.ts.
import { accessSync, chmodSync, constants, existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { type Appspec, AppspecError, readAppspec, unknownHookEvents } from "./appspec.js";
import { DeploymentRoot } from "./deployment-root.js";
import { runHook } from "./hook-runner.js";
import { installFiles, unpackBundle } from "./install-files.js";
import {
  type LifecycleEventName,
  lifecycleEvents,
  previousRevisionEvents,
  type ScriptEventName,
  type StepEventName,
} from "./lifecycle.js";
import { type LocalInstance, shimDir } from "./local-instance.js";
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

export { archivesKept } from "./deployment-root.js";

type Outcome = Omit<EventRecord, "instanceId" | "event" | "durationMs">;

export async function deployToInstance(options: AgentOptions): Promise<InstanceDeploymentResult> {
  const { instance, identity, loadBalancer } = options;
  const root = new DeploymentRoot(instance.agentRoot, identity.deploymentGroupId);
  const deploymentDir = root.deploymentDir(identity.deploymentId);
  const archive = join(deploymentDir, "deployment-archive");
  const previousArchive = root.lastSuccessfulArchive();
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
          root.appendScriptLog(identity.deploymentId, event, line);
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

  const install = (spec: Appspec): Outcome => {
    const unknown = unknownHookEvents(spec);
    if (unknown.length > 0) {
      throw new AppspecError(
        `${spec.file}: hooks name events that do not exist: ${unknown.join(", ")} (the agent rejects them at Install)`,
      );
    }
    const files = installFiles({
      instanceRoot: instance.root,
      archive,
      spec,
      cleanupFile: root.cleanupFile,
    });
    // From now on this is the revision whose ApplicationStop runs next time, whatever follows.
    root.recordLastSuccessful(deploymentDir);
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
      root.prune(deploymentDir);
      unpackBundle(options.bundleDir, archive);
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
