import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Benchmark } from "../context.js";
import { REPO_ROOT } from "../processes.js";
import type { BenchRow } from "../report.js";

const RUNS = 3;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/**
 * Process start to the first `/health` 200, median of three starts: the esbuild bundle (what
 * runs on EC2: `node app/dist/server.mjs`) when deploy/src/bundle.ts exists, and `node --import tsx`
 * (what `npm start` and the tests run), which compiles TypeScript as it loads.
 */
export const startup: Benchmark = async (ctx) => {
  const rows: BenchRow[] = [];
  const measure = async (releaseRoot?: string) => {
    const times: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      // releaseRoot undefined: through tsx, the rest as deployed.
      const web = await ctx.startWeb(`bench-start-${i}`, { releaseRoot });
      times.push(web.startupMs);
      await web.stop();
    }
    return times;
  };

  let releaseRoot = ctx.releaseRoot;
  let built: string | undefined;
  const bundleScript = join(REPO_ROOT, "deploy", "src", "bundle.ts");
  if (!releaseRoot && existsSync(bundleScript)) {
    built = mkdtempSync(join(tmpdir(), "fleetline-bench-bundle-"));
    const { bundle } = await import("@fleetline/deploy/bundle");
    const result = await bundle({ outDir: built });
    releaseRoot = result.outDir;
  }
  try {
    if (releaseRoot) {
      const bundlePath = join(releaseRoot, "app", "dist", "server.mjs");
      const times = await measure(releaseRoot);
      const value = median(times);
      rows.push({
        id: "startup.bundle",
        name: "start-up to /health 200, esbuild bundle",
        value,
        unit: "ms",
        target: "≤ 1,000",
        met: value <= 1000,
        note: `node app/dist/server.mjs (${(statSync(bundlePath).size / 1024 / 1024).toFixed(2)} MiB); runs ${times.map((t) => t.toFixed(0)).join(", ")} ms`,
      });
    }
  } finally {
    if (built) rmSync(built, { recursive: true, force: true });
  }
  const times = await measure();
  const value = median(times);
  rows.push({
    id: "startup.tsx",
    name: "start-up to /health 200, node --import tsx",
    value,
    unit: "ms",
    ...(rows.length === 0 ? { target: "≤ 1,000", met: value <= 1000 } : {}),
    note: `web/src/server.ts compiled on load; runs ${times.map((t) => t.toFixed(0)).join(", ")} ms`,
  });
  return rows;
};
