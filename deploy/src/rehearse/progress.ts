// Lines a person can follow while the rehearsal runs, and the summary at the end. Every line
// carries the time since the rehearsal started, so a slow step stands out.
import type { EventRecord } from "./codedeploy-agent.js";
import type { DeploymentResult, Revision } from "./deployment.js";

export interface ProgressOptions {
  /** Where lines go. Default: process.stdout. */
  readonly write?: (text: string) => void;
  /** Also print every line the hooks print. Default false (failed hooks print theirs anyway). */
  readonly verbose?: boolean;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export class Progress {
  readonly #started = Date.now();
  readonly #write: (text: string) => void;
  readonly verbose: boolean;

  constructor(options: ProgressOptions = {}) {
    this.#write = options.write ?? ((text) => process.stdout.write(text));
    this.verbose = options.verbose ?? false;
  }

  line(text: string): void {
    const elapsed = ((Date.now() - this.#started) / 1000).toFixed(1).padStart(6);
    this.#write(`[+${elapsed}s] ${text}\n`);
  }

  detail(text: string): void {
    this.#write(`             ${text}\n`);
  }

  deploymentStarted(deploymentId: string, revision: Revision, rollbackOf?: string): void {
    this.line(
      rollbackOf
        ? `${deploymentId} ROLLBACK of ${rollbackOf}: redeploying last good revision ${revision.label}`
        : `${deploymentId} deploying revision ${revision.label}`,
    );
  }

  event(deploymentId: string, record: EventRecord): void {
    const status = record.status === "Failed" ? "FAILED" : record.status;
    const note = record.message ? ` (${record.message})` : "";
    this.line(
      `${deploymentId} ${record.instanceId.padEnd(10)} ${record.event.padEnd(18)} ${status.padEnd(9)} ${seconds(record.durationMs)}${note}`,
    );
    if (record.status === "Failed") this.failure(record);
    else if (this.verbose) for (const l of record.output) this.detail(l);
  }

  failure(record: EventRecord): void {
    this.detail(
      `lifecycle event ${record.event} failed on ${record.instanceId}: ${record.message ?? ""}`,
    );
    this.detail("script output:");
    for (const l of record.output.length > 0 ? record.output : ["(none)"]) this.detail(`  ${l}`);
  }

  deploymentSummary(result: DeploymentResult): void {
    const verdict = result.succeeded
      ? "Succeeded"
      : `FAILED at ${result.failed?.event ?? "?"} on ${result.failed?.instanceId ?? "?"}`;
    this.line(
      `${result.deploymentId} ${verdict} in ${seconds(result.durationMs)} (revision ${result.revision.label})`,
    );
    if (result.rollback) {
      const rb = result.rollback;
      this.line(
        `${rb.deploymentId} rollback ${rb.succeeded ? "Succeeded" : "FAILED"} in ${seconds(rb.durationMs)} (revision ${rb.revision.label})`,
      );
    }
  }
}
