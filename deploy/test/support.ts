// Shared by the rehearsal tests: a temporary folder, the artifact built by the rehearsal's own
// build step (checks skipped: these tests already run inside a test run), and revisions made
// from it that differ in their REVISION label or in what their server does.
import {
  chmodSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import type { TestContext } from "node:test";
import type { LoadBalancer } from "@fleetline/local/load-balancer";
import { freePort } from "@fleetline/local/ports";
import { startSharedServices } from "@fleetline/local/shared-services";

import type { Revision } from "../src/rehearse/deployment.js";
import { LocalInstance } from "../src/rehearse/local-instance.js";
import { rehearseBuild } from "../src/rehearse/rehearse-build.js";

export const repoRoot = resolve(import.meta.dirname, "..", "..");

/**
 * The in-place lifecycle with a load balancer in the deployment group, in the order CodeDeploy
 * runs it (AppSpec "hooks" section for EC2/On-Premises; /work/shared/ARCHITECTURE.md). Written
 * out here rather than read from src/rehearse/lifecycle.ts, so that an event dropped from or
 * moved in the rehearsal's table fails the tests that compare a run's events with it.
 */
export const AGENT_LIFECYCLE = [
  "BeforeBlockTraffic",
  "BlockTraffic",
  "AfterBlockTraffic",
  "ApplicationStop",
  "DownloadBundle",
  "BeforeInstall",
  "Install",
  "AfterInstall",
  "ApplicationStart",
  "ValidateService",
  "BeforeAllowTraffic",
  "AllowTraffic",
  "AfterAllowTraffic",
] as const;

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

/** A fleet of `count` instances behind the local load balancer, each with a stand-in web. */
export interface SmallFleet {
  readonly instances: readonly LocalInstance[];
  readonly loadBalancer: LoadBalancer;
  readonly url: string;
  /** When each instance's stand-in web finished sending an answer to /slow (ms since epoch). */
  readonly slowAnswers: number[];
}

/**
 * Instances bootstrapped as the rehearsal's, behind the real load balancer (fast health checks),
 * each served by a small HTTP server in this process standing in for the web: `/slow` answers
 * after `slowMs`, everything else at once. For tests of the agent and the service that need no
 * real web, so each deployment takes a fraction of a second.
 */
export async function smallFleet(
  t: TestContext,
  count = 1,
  options: { readonly slowMs?: number } = {},
): Promise<SmallFleet> {
  const work = tempDir(t, "small-fleet");
  // Assembled as every local fleet is; the stand-in webs use neither its table nor its key ring.
  const services = await startSharedServices({
    loadBalancer: {
      healthCheckIntervalMs: 100,
      healthyThreshold: 1,
      deregistrationDelayMs: 10_000,
    },
    keysDir: join(work, "keys"),
    oidc: false,
  });
  onCleanup(t, () => services.stop());
  const { loadBalancer } = services;
  const instances: LocalInstance[] = [];
  const slowAnswers: number[] = [];
  for (let n = 1; n <= count; n++) {
    const id = `i-small-${n}`;
    const instance = new LocalInstance({ id, root: join(work, id), port: await freePort() });
    instance.bootstrap();
    const server = createHttpServer((req, res) => {
      const answer = () => res.writeHead(200, { "x-served-by": id }).end(`${id} ${req.url}`);
      if (req.url === "/slow") {
        setTimeout(() => res.end(() => slowAnswers.push(Date.now())), options.slowMs ?? 1500);
        res.writeHead(200, { "x-served-by": id }).write("slow ");
      } else answer();
    });
    await new Promise<void>((r) => server.listen(instance.port, "127.0.0.1", r));
    onCleanup(t, async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    });
    instances.push(instance);
  }
  return { instances, loadBalancer, url: services.url, slowAnswers };
}

export interface ScriptBundle {
  /** appspec.yml as written; default: `files` app/ → /opt/small and one script per event below. */
  readonly appspec?: string;
  /** Bundle-relative path → file content (scripts are made executable unless listed in `plain`). */
  readonly files?: Readonly<Record<string, string>>;
  /** Bundle-relative paths written without the executable bit. */
  readonly plain?: readonly string[];
}

/** The default appspec of {@link scriptRevision}: each event runs hooks/<event>.sh if present. */
export function smallAppspec(hooks: readonly string[], extra = ""): string {
  const lines = [
    "version: 0.0",
    "os: linux",
    "files:",
    "  - source: app",
    "    destination: /opt/small",
    "file_exists_behavior: OVERWRITE",
    "hooks:",
  ];
  for (const event of hooks) {
    lines.push(`  ${event}:`, `    - location: hooks/${event}.sh`, "      timeout: 10");
  }
  return `${lines.join("\n")}\n${extra}`;
}

/**
 * A tiny revision: an appspec, scripts and app files written from strings. Scripts named
 * hooks/<Event>.sh are wired into the default appspec; every script gets a bash shebang.
 */
export function scriptRevision(dir: string, label: string, bundle: ScriptBundle = {}): Revision {
  const files: Record<string, string> = { "app/REVISION": `${label}\n`, ...bundle.files };
  const hooks = Object.keys(files)
    .map((f) => /^hooks\/(\w+)\.sh$/.exec(f)?.[1])
    .filter((e): e is string => e !== undefined);
  files["appspec.yml"] = bundle.appspec ?? smallAppspec(hooks);
  for (const [rel, content] of Object.entries(files)) {
    const path = join(dir, rel);
    mkdirSync(dirname(path), { recursive: true });
    const script = rel.endsWith(".sh");
    writeFileSync(path, script ? `#!/usr/bin/env bash\nset -euo pipefail\n${content}\n` : content);
    if (script && !(bundle.plain ?? []).includes(rel)) chmodSync(path, 0o755);
  }
  return { bundleDir: dir, label };
}
