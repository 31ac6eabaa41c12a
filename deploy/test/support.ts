// Shared by the rehearsal tests: a temporary folder, the artifact built by the rehearsal's own
// build step (checks skipped: these tests already run inside a test run), and revisions made
// from it that differ in their REVISION label or in what their server does.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { TestContext } from "node:test";
import type { Revision } from "../src/rehearse/deployment.js";
import { rehearseBuild } from "../src/rehearse/rehearse-build.js";

export const repoRoot = resolve(import.meta.dirname, "..", "..");

const cleanups = new WeakMap<TestContext, Array<() => unknown>>();

/**
 * Registers a cleanup run in reverse order of registration (node:test runs `t.after` hooks in
 * order), so a fleet started in a temporary folder is stopped before the folder is removed.
 */
export function onCleanup(t: TestContext, fn: () => unknown): void {
  let stack = cleanups.get(t);
  if (!stack) {
    const created: Array<() => unknown> = [];
    stack = created;
    cleanups.set(t, created);
    t.after(async () => {
      for (const cleanup of created.reverse()) await cleanup();
    });
  }
  stack.push(fn);
}

export function tempDir(t: TestContext, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `fleetline-${prefix}-`));
  onCleanup(t, () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Runs buildspec.yml through the rehearsal (bundle only) and returns the collected artifact. */
export async function buildArtifact(workDir: string): Promise<string> {
  const built = await rehearseBuild({ repoRoot, workDir, checks: false });
  if (!built.build.succeeded || !built.artifact) {
    const log = readFileSync(built.build.logFile, "utf8");
    throw new Error(`rehearsal build failed in ${built.build.failedPhase}:\n${log.slice(-4000)}`);
  }
  return built.artifact.dir;
}

/** A copy of the artifact whose REVISION first line is `label`, so instances can be told apart. */
export function revisionFrom(artifactDir: string, dest: string, label: string): Revision {
  cpSync(artifactDir, dest, { recursive: true });
  const file = join(dest, "app", "REVISION");
  const rest = readFileSync(file, "utf8").split("\n").slice(1).join("\n");
  writeFileSync(file, `${label}\n${rest}`);
  return { bundleDir: dest, label };
}

/** A revision whose server exits at once, so its ValidateService cannot pass. */
export function brokenRevisionFrom(artifactDir: string, dest: string, label: string): Revision {
  const revision = revisionFrom(artifactDir, dest, label);
  writeFileSync(
    join(dest, "app", "dist", "server.mjs"),
    'process.stderr.write("broken revision: refusing to start\\n");\nprocess.exit(1);\n',
  );
  return revision;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const address = server.address();
  await new Promise<void>((r) => server.close(() => r()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

/**
 * Requests the URL back to back until stopped; counts answers by status and network errors.
 * The "site keeps serving" check for tests that do not need autocannon's rate.
 */
export function pollContinuously(url: string): {
  stop(): Promise<{ ok: number; failed: string[] }>;
} {
  let running = true;
  let ok = 0;
  const failed: string[] = [];
  const loop = (async () => {
    while (running) {
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
        await res.arrayBuffer();
        if (res.status === 200) ok++;
        else
          failed.push(
            `HTTP ${res.status} from ${res.headers.get("x-served-by") ?? "the balancer"}`,
          );
      } catch (error) {
        failed.push(error instanceof Error ? error.message : String(error));
      }
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { ok, failed };
    },
  };
}
