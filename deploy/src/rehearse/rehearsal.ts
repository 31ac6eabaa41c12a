// Step 2 and 3 of the rehearsal: deployments of revisions onto a local fleet, each one rolled
// out one instance at a time and rolled back to the last good revision when an event fails.
// The CodeDeploy service's memory (application, group, last good revision) lives here.
import { randomUUID } from "node:crypto";
import { type DeploymentResult, type Revision, runDeployment } from "./deployment.js";
import type { LocalInstance } from "./local-instance.js";
import type { Progress } from "./progress.js";
import type { TrafficControl } from "./traffic-control.js";

/** What a deployment group is deployed onto: its instances and its load balancer. */
export interface DeploymentTargets {
  readonly instances: readonly LocalInstance[];
  readonly loadBalancer: TrafficControl;
}

export interface RehearsalOptions {
  /** A LocalFleet, or any instances behind a load balancer. */
  readonly fleet: DeploymentTargets;
  readonly progress?: Progress;
  /** CodeDeploy application name passed to hooks. Default "fleetline". */
  readonly applicationName?: string;
  /** Deployment group name passed to hooks. Default "fleetline-local". */
  readonly deploymentGroupName?: string;
  /** The FLEETLINE_* seam for every hook (e.g. a shorter ValidateService retry). Default: none. */
  readonly hookEnv?: Readonly<Record<string, string>>;
  /** Bound on AllowTraffic's wait for a healthy target. Default 60 s. */
  readonly allowTrafficTimeoutMs?: number;
}

export class Rehearsal {
  readonly applicationName: string;
  readonly deploymentGroupName: string;
  readonly deploymentGroupId = randomUUID();
  readonly #options: RehearsalOptions;
  #lastGood: Revision | undefined;
  readonly history: DeploymentResult[] = [];

  constructor(options: RehearsalOptions) {
    this.#options = options;
    this.applicationName = options.applicationName ?? "fleetline";
    this.deploymentGroupName = options.deploymentGroupName ?? "fleetline-local";
  }

  /**
   * Deploys `revision` to the fleet one instance at a time; on a failed event, redeploys the last
   * good revision. `ignoreApplicationStopFailures` is CodeDeploy's option of the same name.
   */
  async deploy(
    revision: Revision,
    flags: { readonly ignoreApplicationStopFailures?: boolean } = {},
  ): Promise<DeploymentResult> {
    const progress = this.#options.progress;
    const result = await runDeployment({
      instances: this.#options.fleet.instances,
      revision,
      loadBalancer: this.#options.fleet.loadBalancer,
      applicationName: this.applicationName,
      deploymentGroupName: this.deploymentGroupName,
      deploymentGroupId: this.deploymentGroupId,
      ...(this.#lastGood ? { lastGoodRevision: this.#lastGood } : {}),
      ...(this.#options.hookEnv ? { hookEnv: this.#options.hookEnv } : {}),
      ...(this.#options.allowTrafficTimeoutMs
        ? { allowTrafficTimeoutMs: this.#options.allowTrafficTimeoutMs }
        : {}),
      ignoreApplicationStopFailures: flags.ignoreApplicationStopFailures === true,
      onDeploymentStart: (id, rev, rollbackOf) => progress?.deploymentStarted(id, rev, rollbackOf),
      onEvent: (id, record) => progress?.event(id, record),
    });
    if (result.succeeded) this.#lastGood = revision;
    this.history.push(result);
    progress?.deploymentSummary(result);
    return result;
  }
}
