import type { ChildProcess } from "node:child_process";
import { once } from "node:events";

/** True while `child` has not exited. */
export function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/**
 * SIGTERM, then SIGKILL if `child` is still running after `graceMs`, as systemd stops a unit;
 * resolves with the exit code (null when a signal ended it). Written here rather than taken from
 * execa (whose `forceKillAfterDelay` does this) because these children are node:child_process
 * ones, spawned with the options each caller needs.
 */
export async function stopChild(
  child: ChildProcess,
  graceMs: number,
  onKill?: () => void,
): Promise<number | null> {
  if (!isRunning(child)) return child.exitCode;
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  const killer = setTimeout(() => {
    onKill?.();
    child.kill("SIGKILL");
  }, graceMs);
  try {
    const [code] = (await exited) as [number | null];
    return code;
  } finally {
    clearTimeout(killer);
  }
}

/** SIGKILL, no goodbye; resolves once the process is gone. */
export async function killChild(child: ChildProcess): Promise<void> {
  if (!isRunning(child)) return;
  const exited = once(child, "exit");
  child.kill("SIGKILL");
  await exited;
}
