// npm run bench [-- --duration 5 --warmup 1 --connections 50 --redis-duration 10 --runtime bundle|tsx]
// Prints the table (Markdown) and writes it with the raw figures to bench/results/latest.json.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { runBench } from "./harness.js";
import { killAllChildren, REPO_ROOT } from "./processes.js";
import { formatNotes, formatTable } from "./report.js";

const { values } = parseArgs({
  options: {
    duration: { type: "string", default: "5" },
    warmup: { type: "string", default: "1" },
    connections: { type: "string", default: "50" },
    "redis-duration": { type: "string", default: "10" },
    runtime: { type: "string" },
    out: { type: "string", default: join(REPO_ROOT, "bench", "results", "latest.json") },
  },
});

function positive(name: string, raw: string, allowZero = false): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0 || (!allowZero && n === 0)) {
    process.stderr.write(`--${name} must be a ${allowZero ? "non-negative" : "positive"} number\n`);
    process.exit(2);
  }
  return n;
}

// Ctrl-C mid-run: take the servers down with us rather than leave them holding ports.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    killAllChildren();
    process.exit(130);
  });
}

const report = await runBench({
  durationS: positive("duration", values.duration),
  warmupS: positive("warmup", values.warmup, true),
  connections: Math.round(positive("connections", values.connections)),
  redisRunS: positive("redis-duration", values["redis-duration"]),
  ...(values.runtime === "bundle" || values.runtime === "tsx" ? { runtime: values.runtime } : {}),
  log: (line) => process.stderr.write(`${line}\n`),
});

const { machine, settings } = report;
console.log(
  `\nfleetline benchmarks — ${machine.cpus} × ${machine.cpuModel}, Node ${machine.node}, ${machine.platform}`,
);
console.log(
  `autocannon ${settings.connections} connections, ${settings.durationS} s per run after ${settings.warmupS} s warm-up; web instances run ${settings.runtime === "bundle" ? "the esbuild bundle (node app/dist/server.mjs)" : "web/src/server.ts through tsx"}, LOG_LEVEL=warn\n`,
);
console.log(formatTable(report.rows));
const notes = formatNotes(report.rows);
if (notes) console.log(`\n${notes}`);
console.log(`\ntotal ${report.elapsedS.toFixed(0)} s`);

mkdirSync(join(values.out, ".."), { recursive: true });
writeFileSync(values.out, `${JSON.stringify(report, null, 2)}\n`);
console.log(`written to ${values.out}`);

if (report.errors.length > 0) {
  console.error(`\n${report.errors.length} benchmark(s) failed:\n- ${report.errors.join("\n- ")}`);
  process.exit(1);
}
