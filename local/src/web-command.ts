import { fileURLToPath } from "node:url";

/** How to run one web instance: an executable and its arguments, run from `cwd`. */
export interface WebCommand {
  readonly executable: string;
  readonly args: ReadonlyArray<string>;
  readonly cwd: string;
}

/** The repository root (local/src/ is two levels down). */
export const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

/**
 * `node --import <tsx> web/src/server.ts`, with tsx resolved from the repository rather than
 * from the child's working directory, and node itself rather than `npx`/`npm`: one process per
 * instance, so a signal to its pid reaches the web and nothing is left behind.
 */
export function defaultWebCommand(): WebCommand {
  return {
    executable: process.execPath,
    args: [
      "--import",
      import.meta.resolve("tsx"),
      "--import",
      new URL("./exit-with-parent.ts", import.meta.url).href,
      fileURLToPath(import.meta.resolve("@fleetline/web/server")),
    ],
    cwd: repoRoot,
  };
}
