// Where an instance's time goes on one page: `npm run bench:profile -- --path /users/new`.
// Starts one instance as deployed (bench/src/deployed-web.ts) under `node --cpu-prof`, loads the
// path with autocannon, stops it with SIGTERM (the profile is written on exit) and prints CPU per
// request and the functions with the most self time. The .cpuprofile is kept for Chrome DevTools.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { runLoad } from "./load.js";
import {
  cpuTimeMs,
  killAllChildren,
  REPO_ROOT,
  startDynaliteProcess,
  startLoadBalancerProcess,
  startRedisServer,
  startWebInstance,
} from "./processes.js";

const { values } = parseArgs({
  options: {
    path: { type: "string", default: "/" },
    duration: { type: "string", default: "5" },
    connections: { type: "string", default: "50" },
    /** A session cookie to send; default: the bench signs in through the instance's provider. */
    cookie: { type: "string" },
    /** Send no session: profile what an anonymous visitor gets (a redirect, for the users pages). */
    anonymous: { type: "boolean", default: false },
    /** Profile the local load balancer in front of two instances instead of one instance. */
    balancer: { type: "boolean", default: false },
    /** Only the CPU per request, without the profiler's own overhead. */
    "no-profile": { type: "boolean", default: false },
    top: { type: "string", default: "25" },
    out: { type: "string", default: join(REPO_ROOT, "bench", "results", "profiles") },
  },
});

interface ProfileNode {
  readonly id: number;
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
    readonly columnNumber: number;
  };
  readonly children?: readonly number[];
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** Self time per function (name, file:line), as DevTools' bottom-up view, largest first. */
function selfTimes(profile: CpuProfile): Array<[string, number]> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const totals = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    if (!node) return;
    const { functionName, url, lineNumber, columnNumber } = node.callFrame;
    const file = url.split("/").slice(-2).join("/");
    const where = file ? `${file}:${lineNumber + 1}:${columnNumber + 1}` : "";
    const key = `${functionName || "(anonymous)"} ${where}`;
    totals.set(key, (totals.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  return [...totals].sort((a, b) => b[1] - a[1]);
}

process.once("SIGINT", () => {
  killAllChildren();
  process.exit(130);
});

const bundleDir = mkdtempSync(join(tmpdir(), "fleetline-profile-bundle-"));
const keyringDir = mkdtempSync(join(tmpdir(), "fleetline-profile-keys-"));
const profileDir = mkdtempSync(join(tmpdir(), "fleetline-profile-"));
try {
  const { bundle } = await import("@fleetline/deploy/bundle");
  const releaseRoot = (await bundle({ outDir: bundleDir })).outDir;
  const redis = await startRedisServer();
  const dynalite = await startDynaliteProcess();
  const options = {
    dynamodbEndpoint: dynalite.endpoint,
    keyringDir,
    redisUrl: typeof redis === "string" ? undefined : `redis://127.0.0.1:${redis.port}`,
    releaseRoot,
  };
  const profiling = values["no-profile"] ? [] : ["--cpu-prof", `--cpu-prof-dir=${profileDir}`];
  const flags = values.balancer ? [] : profiling;
  const web = await startWebInstance({ ...options, instanceId: "profile-1", nodeFlags: flags });
  const second = values.balancer
    ? await startWebInstance({ ...options, instanceId: "profile-2" })
    : undefined;
  const lb = second
    ? await startLoadBalancerProcess(
        [
          { id: "profile-1", port: web.port },
          { id: "profile-2", port: second.port },
        ],
        profiling,
      )
    : undefined;
  const measured = lb ?? web;
  // A session signed by the instance's key ring is valid on the second one too (shared ring).
  const cookie = values.anonymous ? undefined : (values.cookie ?? (await web.signIn()));
  const url = `http://127.0.0.1:${lb ? lb.port : web.port}${values.path}`;
  let cpuStart = 0;
  const load = await runLoad({
    url,
    durationS: Number(values.duration),
    warmupS: 1,
    connections: Number(values.connections),
    ...(cookie ? { headers: { cookie } } : {}),
    onStart: () => {
      cpuStart = cpuTimeMs(measured.pid);
    },
  });
  const cpuUs = ((cpuTimeMs(measured.pid) - cpuStart) * 1000) / Math.max(load.total, 1);
  await lb?.stop();
  await second?.stop();
  await web.stop();
  await dynalite.stop();
  if (typeof redis !== "string") await redis.stop();

  const what = lb ? "the balancer" : "the instance";
  console.log(
    `${url}: ${load.requestsPerSecond.toFixed(0)} req/s, ${cpuUs.toFixed(0)} µs of CPU per request in ${what} (${load.total} requests, ${load.failed} failed, statuses ${JSON.stringify(load.statuses)})`,
  );
  if (!values["no-profile"]) {
    const file = readdirSync(profileDir).find((f) => f.endsWith(".cpuprofile"));
    if (!file) throw new Error(`no .cpuprofile written in ${profileDir}`);
    const text = readFileSync(join(profileDir, file), "utf8");
    const profile = JSON.parse(text) as CpuProfile;
    const times = selfTimes(profile);
    const total = times.reduce((a, [, t]) => a + t, 0);
    console.log(`self time, top ${values.top} of ${(total / 1000).toFixed(0)} ms sampled:`);
    for (const [name, t] of times.slice(0, Number(values.top))) {
      console.log(`${((100 * t) / total).toFixed(1).padStart(5)} %  ${name}`);
    }
    mkdirSync(values.out, { recursive: true });
    const kept = join(
      values.out,
      `${lb ? "balancer" : "web"}${values.path.replace(/\W+/g, "-")}.cpuprofile`,
    );
    writeFileSync(kept, text);
    console.log(`profile: ${kept}`);
  }
} finally {
  rmSync(bundleDir, { recursive: true, force: true });
  rmSync(keyringDir, { recursive: true, force: true });
  rmSync(profileDir, { recursive: true, force: true });
}
