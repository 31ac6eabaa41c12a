// npm run bench [-- --duration 5 --warmup 1 --connections 50 --redis-duration 10 --runtime bundle|tsx
//                   --session-cookie 'name=value' --only 'raw,GET /,load balancer'
//                   --compare REQUEST_LOG=all]
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
    "session-cookie": { type: "string" },
    only: { type: "string" },
    compare: { type: "string" },
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

/** "KEY=value,KEY2=value2" → object; anything else is a usage error. */
function parseCompare(raw: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of raw.split(",")) {
    const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(pair.trim());
    if (!match?.[1] || match[2] === undefined) {
      process.stderr.write(`--compare takes KEY=value[,KEY=value…], not ${JSON.stringify(pair)}\n`);
      process.exit(2);
    }
    env[match[1]] = match[2];
  }
  return env;
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
  ...(values["session-cookie"] ? { sessionCookie: values["session-cookie"] } : {}),
  ...(values.only ? { only: values.only.split(",") } : {}),
  ...(values.compare ? { compareEnv: parseCompare(values.compare) } : {}),
  log: (line) => process.stderr.write(`${line}\n`),
});

const { machine, settings } = report;
console.log(
  `\nfleetline benchmarks — ${machine.cpus} × ${machine.cpuModel}, Node ${machine.node}, ${machine.platform}, ${report.startedAt}`,
);
console.log(`load average at the start: ${report.loadAverage.map((n) => n.toFixed(2)).join(", ")}`);
console.log(
  `autocannon ${settings.connections} connections, ${settings.durationS} s per run after ${settings.warmupS} s warm-up`,
);
const env = report.deployedEnv;
const logging = [
  `NODE_ENV=${env.NODE_ENV ?? "unset"}`,
  `LOG_LEVEL=${env.LOG_LEVEL ?? "unset (info)"}`,
  env.LOG_DIR ? "LOG_DIR set (logs to LOG_DIR/web.log)" : "LOG_DIR unset (logs to stdout)",
  `REQUEST_LOG=${env.REQUEST_LOG ?? "unset (notable in production)"}`,
].join(", ");
console.log(
  settings.runtime === "bundle"
    ? `web instances run as deploy/systemd/fleetline-web.service runs them on EC2: node app/dist/server.mjs (the esbuild bundle) from app/, with the environment infra/lib/instance-bootstrap.sh writes to /etc/fleetline/web.env: ${logging}`
    : `web instances run web/src/server.ts through tsx (NOT as deployed: --runtime tsx), with the environment infra/lib/instance-bootstrap.sh writes: ${logging}`,
);
console.log("differences from an EC2 instance:");
for (const d of report.deployment) console.log(`  ${d.key}: ${d.ec2} → ${d.bench} (${d.why})`);
if (settings.sessionCookie) console.log("GET /users/new sent the given session cookie");
if (values.compare) {
  console.log(`rows marked "other configuration" ran on an instance with ${values.compare} on top`);
}
console.log("");
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
