import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * A pid file that keeps two stacks off one state directory. dynalite's LevelDB allows one
 * process per directory, and a second one does not fail at start: it dies on its first
 * request with "Database is closed". This turns that into a clear error before anything starts.
 */
export class StateDirInUseError extends Error {
  override readonly name = "StateDirInUseError";
  constructor(
    readonly dir: string,
    readonly pid: number,
  ) {
    super(`${dir} is in use by another fleetline (pid ${pid}); stop it first, or use --in-memory`);
  }
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else, still a live process.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Takes the lock (replacing a stale one); returns the function that releases it. */
export function lockStateDir(dir: string): () => void {
  const file = join(dir, "fleetline.pid");
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: "wx" });
      return () => rmSync(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const holder = Number.parseInt(readFileSync(file, "utf8"), 10);
      if (Number.isInteger(holder) && running(holder)) {
        throw new StateDirInUseError(dir, holder);
      }
      rmSync(file, { force: true }); // left by a stack that was killed
    }
  }
  throw new Error(`could not lock ${dir}`);
}
