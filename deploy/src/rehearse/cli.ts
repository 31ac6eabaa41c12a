// npm run rehearse [-- options]: the delivery pipeline on this machine. Builds the artifact by
// running buildspec.yml in a clean copy of the working tree, starts a local fleet (DynamoDB,
// load balancer, empty instances), deploys the artifact with the CodeDeploy lifecycle one
// instance at a time, then deploys it again over the running fleet (the in-place update every
// later push does), rolling back on a failed event. See deploy/README.md.
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { createLineLogger } from "@fleetline/local/logger";
import { brokenRevision } from "./broken-revision.js";
import { LocalFleet } from "./local-fleet.js";
import { Progress } from "./progress.js";
import { Rehearsal } from "./rehearsal.js";
import { type InstallMode, rehearseBuild } from "./rehearse-build.js";

const usage = `Usage: npm run rehearse -- [options]
  --instances N       local instances (default 2)
  --deployments N     deployments of the artifact; the first installs, the others update (default 2)
  --port P            load balancer port (default 8090; 0 picks a free one)
  --install MODE      link (node_modules symlinked, npm ci skipped; default) or offline (npm ci --offline)
  --skip-checks       build only the bundle (FLEETLINE_BUILD_CHECKS=false): no lint, typecheck, tests
  --artifact DIR      deploy this artifact folder instead of building one
  --work-dir DIR      scratch folder (default .build/rehearsal)
  --keyring KIND      file (default) or redis (REDIS_URL or redis://127.0.0.1:6379)
  --try-broken-revision
                      then deploy a copy whose server cannot start, to watch ValidateService fail
                      and the automatic rollback (exit 0 when the rollback succeeds)
  --ignore-application-stop-failures
                      as CodeDeploy's option: go on when the previous revision's stop script fails
  --keep              keep the fleet serving after the summary, until Ctrl-C
  --verbose           print build output and every hook's output
  --help`;

const repoRoot = resolve(import.meta.dirname, "..", "..", "..");

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      instances: { type: "string", default: "2" },
      deployments: { type: "string", default: "2" },
      port: { type: "string", default: "8090" },
      install: { type: "string", default: "link" },
      "skip-checks": { type: "boolean", default: false },
      artifact: { type: "string" },
      "work-dir": { type: "string" },
      keyring: { type: "string", default: "file" },
      keep: { type: "boolean", default: false },
      "try-broken-revision": { type: "boolean", default: false },
      "ignore-application-stop-failures": { type: "boolean", default: false },
      verbose: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const instances = Number(values.instances);
  const deployments = Number(values.deployments);
  const port = Number(values.port);
  if (!Number.isInteger(instances) || instances < 1) throw new Error("--instances must be ≥ 1");
  if (!Number.isInteger(deployments) || deployments < 1)
    throw new Error("--deployments must be ≥ 1");
  if (values.install !== "link" && values.install !== "offline")
    throw new Error("--install is link or offline");
  if (values.keyring !== "file" && values.keyring !== "redis")
    throw new Error("--keyring is file or redis");
  const workDir = resolve(values["work-dir"] ?? join(repoRoot, ".build", "rehearsal"));
  mkdirSync(workDir, { recursive: true });
  const progress = new Progress({ verbose: values.verbose });

  let bundleDir: string;
  let label: string;
  if (values.artifact) {
    bundleDir = resolve(values.artifact);
    const revisionFile = join(bundleDir, "app", "REVISION");
    label = existsSync(revisionFile)
      ? (readFileSync(revisionFile, "utf8").split("\n")[0] ?? values.artifact)
      : values.artifact;
    progress.line(`build skipped: deploying ${bundleDir}`);
  } else {
    progress.line(
      `build: buildspec.yml in a clean copy of ${repoRoot} (install: ${values.install})`,
    );
    const built = await rehearseBuild({
      repoRoot,
      workDir: join(workDir, "build"),
      install: values.install as InstallMode,
      checks: !values["skip-checks"],
      onSource: (source) =>
        progress.line(
          `build: source copied by ${source.method} (${source.files} files) to ${source.dir}`,
        ),
      onPhase: (phase) => progress.line(`build: phase ${phase}`),
      ...(values.verbose ? { onLine: (line: string) => progress.detail(line) } : {}),
    });
    for (const report of built.reports) {
      if (report.files.length > 0)
        progress.line(`build: report ${report.name}: ${report.files.join(", ")}`);
    }
    if (!built.build.succeeded || !built.artifact) {
      progress.line(
        `build FAILED in phase ${built.build.failedPhase ?? "?"}` +
          (built.build.failedCommand
            ? `: ${built.build.failedCommand} (exit ${built.build.exitCode})`
            : ""),
      );
      // The end of the log usually names what broke (the failing test, lint rule or type error).
      const tail = readFileSync(built.build.logFile, "utf8").trimEnd().split("\n").slice(-25);
      progress.detail("last lines of the build log:");
      for (const l of tail) progress.detail(`  ${l}`);
      progress.detail(`full log: ${built.build.logFile}`);
      return 1;
    }
    bundleDir = built.artifact.dir;
    label = built.revision ?? "unknown";
    progress.line(
      `build: Succeeded in ${(built.build.durationMs / 1000).toFixed(1)} s; artifact ${bundleDir}: ` +
        `${built.artifact.files.length} files, ${(built.artifact.bytes / 1024 / 1024).toFixed(2)} MiB`,
    );
  }

  const fleet = await LocalFleet.start({
    workDir: join(workDir, "fleet"),
    instances,
    port,
    keyring: values.keyring,
    ...(process.env.REDIS_URL ? { redisUrl: process.env.REDIS_URL } : {}),
    logger: createLineLogger({ prefix: "lb", level: values.verbose ? "info" : "warn" }),
  });
  let failed = false;
  try {
    progress.line(`fleet: load balancer ${fleet.url}, DynamoDB ${fleet.dynamo.endpoint}`);
    for (const instance of fleet.instances) {
      progress.line(`fleet: ${instance.id} root ${instance.root}, web port ${instance.port}`);
    }
    const rehearsal = new Rehearsal({ fleet, progress });
    for (let n = 1; n <= deployments; n++) {
      const result = await rehearsal.deploy(
        { bundleDir, label },
        { ignoreApplicationStopFailures: values["ignore-application-stop-failures"] },
      );
      if (!result.succeeded) {
        failed = true;
        break;
      }
    }
    if (values["try-broken-revision"] && !failed) {
      const broken = brokenRevision(
        bundleDir,
        join(workDir, "broken-revision"),
        `${label} (broken)`,
      );
      progress.line(
        "deploying a revision whose server cannot start: expect a failure, then a rollback",
      );
      const result = await rehearsal.deploy(broken);
      failed = result.succeeded || result.rollback?.succeeded !== true;
    }

    progress.line("summary:");
    for (const result of rehearsal.history) {
      const rb = result.rollback;
      progress.detail(
        `${result.deploymentId}  ${result.succeeded ? "Succeeded" : "Failed"}  ${(result.durationMs / 1000).toFixed(1)} s` +
          (result.failed
            ? `  failed event ${result.failed.event} on ${result.failed.instanceId}`
            : "") +
          (rb ? `  → rollback ${rb.deploymentId} ${rb.succeeded ? "Succeeded" : "Failed"}` : ""),
      );
    }
    const states = new Map(fleet.loadBalancer.targets().map((t) => [t.id, t.state]));
    for (const instance of fleet.instances) {
      progress.detail(
        `${instance.id}  current ${instance.currentRelease() ?? "-"}  running ${instance.runningRelease() ?? "-"}` +
          `  revision ${instance.currentRevision() ?? "-"}  load balancer ${states.get(instance.id) ?? "not registered"}`,
      );
    }
    if (values.keep && !failed) {
      progress.line(`serving on ${fleet.url} — Ctrl-C to stop`);
      await new Promise<void>((resolve) => {
        process.once("SIGINT", () => resolve());
        process.once("SIGTERM", () => resolve());
      });
    }
  } finally {
    progress.line("stopping the fleet");
    await fleet.close();
  }
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`rehearse: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
