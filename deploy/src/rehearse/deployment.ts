// A CodeDeploy in-place deployment over a fleet, one instance at a time (CodeDeployDefault.OneAtATime),
// stopping at the first failed event and, like automatic rollback on failure, redeploying the
// last good revision as a new deployment to the instances the failed one reached.
import {
  type DeploymentIdentity,
  deployToInstance,
  type EventRecord,
  type InstanceDeploymentResult,
  type S3Location,
} from "./codedeploy-agent.js";
import { newDeploymentId } from "./lifecycle.js";
import type { LocalInstance } from "./local-instance.js";
import type { TrafficControl } from "./traffic-control.js";

export interface Revision {
  /** Folder with the bundle (appspec.yml at its root). */
  readonly bundleDir: string;
  /** How the summary names it, e.g. the commit id. */
  readonly label: string;
  /** The S3 object it stands for, as CodePipeline deploys (hooks get BUNDLE_*). Default: none. */
  readonly s3?: S3Location;
}

export interface DeploymentOptions {
  readonly instances: readonly LocalInstance[];
  readonly revision: Revision;
  readonly loadBalancer: TrafficControl;
  readonly applicationName: string;
  readonly deploymentGroupName: string;
  readonly deploymentGroupId: string;
  /** The revision to redeploy when this one fails; none: no rollback. */
  readonly lastGoodRevision?: Revision;
  /** Passed to every script (the FLEETLINE_* seam). Default: none. */
  readonly hookEnv?: Readonly<Record<string, string>>;
  /** Bound on AllowTraffic's wait for health. Default: 60 s. */
  readonly allowTrafficTimeoutMs?: number;
  /** Go on when the previous revision's ApplicationStop fails (not for the rollback). Default false. */
  readonly ignoreApplicationStopFailures?: boolean;
  readonly onEvent?: (deploymentId: string, record: EventRecord) => void;
  readonly onDeploymentStart?: (
    deploymentId: string,
    revision: Revision,
    rollbackOf?: string,
  ) => void;
}

export interface DeploymentResult {
  readonly deploymentId: string;
  readonly revision: Revision;
  readonly succeeded: boolean;
  readonly instances: readonly InstanceDeploymentResult[];
  readonly failed?: EventRecord;
  /** The automatic rollback that followed a failure, if any. */
  readonly rollback?: DeploymentResult;
  readonly durationMs: number;
}

async function deployOnce(
  options: DeploymentOptions,
  revision: Revision,
  instances: readonly LocalInstance[],
  rollbackOf?: string,
): Promise<Omit<DeploymentResult, "rollback">> {
  const ignoreStop = rollbackOf === undefined && options.ignoreApplicationStopFailures === true;
  const started = Date.now();
  const identity: DeploymentIdentity = {
    deploymentId: newDeploymentId(),
    applicationName: options.applicationName,
    deploymentGroupName: options.deploymentGroupName,
    deploymentGroupId: options.deploymentGroupId,
  };
  options.onDeploymentStart?.(identity.deploymentId, revision, rollbackOf);
  const results: InstanceDeploymentResult[] = [];
  for (const instance of instances) {
    const result = await deployToInstance({
      instance,
      bundleDir: revision.bundleDir,
      ...(revision.s3 ? { s3: revision.s3 } : {}),
      identity,
      loadBalancer: options.loadBalancer,
      ...(options.hookEnv ? { hookEnv: options.hookEnv } : {}),
      ...(options.allowTrafficTimeoutMs
        ? { allowTrafficTimeoutMs: options.allowTrafficTimeoutMs }
        : {}),
      onEvent: (record) => options.onEvent?.(identity.deploymentId, record),
      ignoreApplicationStopFailures: ignoreStop,
    });
    results.push(result);
    if (!result.succeeded) {
      return {
        deploymentId: identity.deploymentId,
        revision,
        succeeded: false,
        instances: results,
        ...(result.failed ? { failed: result.failed } : {}),
        durationMs: Date.now() - started,
      };
    }
  }
  return {
    deploymentId: identity.deploymentId,
    revision,
    succeeded: true,
    instances: results,
    durationMs: Date.now() - started,
  };
}

export async function runDeployment(options: DeploymentOptions): Promise<DeploymentResult> {
  const first = await deployOnce(options, options.revision, options.instances);
  if (first.succeeded || !options.lastGoodRevision) return first;
  const reached = new Set(first.instances.map((r) => r.instanceId));
  const targets = options.instances.filter((i) => reached.has(i.id));
  const rollback = await deployOnce(options, options.lastGoodRevision, targets, first.deploymentId);
  return { ...first, rollback };
}
