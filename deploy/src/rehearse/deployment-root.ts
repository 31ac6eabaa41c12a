// The agent's bookkeeping on one instance for one deployment group, laid out as the real
// agent's /opt/codedeploy-agent/deployment-root: <group id>/<deployment id>/deployment-archive
// holds each revision (the newest five kept, and always the last successful one),
// deployment-instructions/<group id>_last_successful_install names the deployment whose scripts
// run for ApplicationStop (and Before/AfterBlockTraffic) next time, <group id>-cleanup lists
// what the last Install created, and deployment-logs/ holds every script's output.
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";

/** The agent's :max_revisions: archives kept per deployment group, the new one included. */
export const archivesKept = 5;

export class DeploymentRoot {
  /**
   * @param root the instance's deployment-root folder
   * @param groupId the deployment group whose archives and instructions these are
   */
  constructor(
    readonly root: string,
    readonly groupId: string,
  ) {}

  deploymentDir(deploymentId: string): string {
    return join(this.root, this.groupId, deploymentId);
  }

  /** What the last Install created, for the next one to remove. */
  get cleanupFile(): string {
    return join(this.root, "deployment-instructions", `${this.groupId}-cleanup`);
  }

  get #lastSuccessfulFile(): string {
    return join(this.root, "deployment-instructions", `${this.groupId}_last_successful_install`);
  }

  /** The deployment folder of the last revision whose Install finished here, if any. */
  lastSuccessfulDeployment(): string | undefined {
    const file = this.#lastSuccessfulFile;
    return existsSync(file) ? readFileSync(file, "utf8").trim() : undefined;
  }

  /** The archive of the last revision whose Install finished here, if it is still there. */
  lastSuccessfulArchive(): string | undefined {
    const dir = this.lastSuccessfulDeployment();
    const archive = dir ? join(dir, "deployment-archive") : undefined;
    return archive && existsSync(archive) ? archive : undefined;
  }

  /** Called once Install finishes: the agent's mark, whatever the later events do. */
  recordLastSuccessful(deploymentDir: string): void {
    mkdirSync(dirname(this.#lastSuccessfulFile), { recursive: true });
    writeFileSync(this.#lastSuccessfulFile, `${deploymentDir}\n`);
  }

  /**
   * At download, as the agent's cleanup_old_archives: the oldest archives go until, with the new
   * one, `archivesKept` remain; the last successful one is never removed (so it may be one more).
   */
  prune(current: string): void {
    const groupDir = join(this.root, this.groupId);
    if (!existsSync(groupDir)) return;
    const others = readdirSync(groupDir)
      .map((name) => join(groupDir, name))
      .filter((dir) => dir !== current);
    const extra = others.length - archivesKept + 1;
    if (extra <= 0) return;
    const keep = this.lastSuccessfulDeployment();
    const oldest = others
      .filter((dir) => dir !== keep)
      .sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs)
      .slice(0, extra);
    for (const dir of oldest) rmSync(dir, { recursive: true, force: true });
  }

  /** One script line where the real agent keeps it: per deployment, and one log for all. */
  appendScriptLog(deploymentId: string, event: string, line: string): void {
    const [stream, ...rest] = line.split(": ");
    const stamp = new Date().toISOString().replace("T", " ").slice(0, 19);
    const entry = `[${stamp}] [${deploymentId}][${event}][${stream}]${rest.join(": ")}\n`;
    const perDeployment = join(this.deploymentDir(deploymentId), "logs", "scripts.log");
    const all = join(this.root, "deployment-logs", "codedeploy-agent-deployments.log");
    for (const file of [perDeployment, all]) {
      mkdirSync(dirname(file), { recursive: true });
      appendFileSync(file, entry);
    }
  }
}
