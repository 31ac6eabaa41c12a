// Step 1 of the rehearsal: buildspec.yml's phases, with bash, in a clean copy of the working tree,
// then the artifact collected as CodeBuild would (base-directory + files).
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { type CollectedArtifact, collectArtifact, collectReports } from "./artifact.js";
import { type BuildRunResult, runBuildspec } from "./build-runner.js";
import { type PhaseName, parseBuildspec } from "./buildspec.js";
import { copyWorkingTree, linkNodeModules, type SourceCopy } from "./source-copy.js";

export type InstallMode = "link" | "offline";

export interface RehearseBuildOptions {
  /** The repository whose working tree is built. */
  readonly repoRoot: string;
  /** Scratch folder: source copy, logs, collected artifact. */
  readonly workDir: string;
  /**
   * "link": the copy's node_modules are symlinks to the repository's and `npm ci` is skipped
   * (fast, no network). "offline": `npm ci --offline` from the npm cache. Default "link".
   */
  readonly install?: InstallMode;
  /** Run lint, typecheck and tests (FLEETLINE_BUILD_CHECKS). Default true. */
  readonly checks?: boolean;
  /** Build output lines. Default: dropped (kept in build.log). */
  readonly onLine?: (line: string) => void;
  readonly onPhase?: (phase: PhaseName) => void;
  /** Once the source copy is ready, before any phase. Default: nothing. */
  readonly onSource?: (source: SourceCopy) => void;
}

export interface RehearseBuildResult {
  readonly source: SourceCopy;
  readonly build: BuildRunResult;
  readonly artifact?: CollectedArtifact;
  readonly reports: ReadonlyArray<{ readonly name: string; readonly files: readonly string[] }>;
  /** First line of app/REVISION in the artifact. */
  readonly revision?: string;
}

const buildShimDir = resolve(import.meta.dirname, "bin-build");

/**
 * The npm the shim hands every command but `ci` to. A rehearsal running inside another one's
 * build (its tests do) finds the outer shim first on PATH; taking that would make the shim exec
 * itself forever, so the outer rehearsal's answer is reused and any other shim skipped.
 */
function realNpm(): string {
  const inherited = process.env.REHEARSE_REAL_NPM;
  if (inherited && existsSync(inherited)) return inherited;
  for (const dir of (process.env.PATH ?? "").split(":")) {
    const candidate = join(dir, "npm");
    if (dir === "" || resolve(dir) === buildShimDir || !existsSync(candidate)) continue;
    if (readFileSync(candidate, "utf8").includes("REHEARSE_REAL_NPM")) continue;
    return candidate;
  }
  return "npm";
}

/** What CodeBuild puts in CODEBUILD_RESOLVED_SOURCE_VERSION; "-dirty" marks uncommitted work. */
function resolvedSourceVersion(repoRoot: string): string | undefined {
  try {
    const git = (...args: string[]) =>
      execFileSync("git", args, {
        cwd: repoRoot,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      }).trim();
    return `${git("rev-parse", "HEAD")}${git("status", "--porcelain") === "" ? "" : "-dirty"}`;
  } catch {
    return undefined;
  }
}

export async function rehearseBuild(options: RehearseBuildOptions): Promise<RehearseBuildResult> {
  mkdirSync(options.workDir, { recursive: true });
  const sourceDir = join(options.workDir, "source");
  const source = copyWorkingTree(options.repoRoot, sourceDir);
  options.onSource?.(source);
  const install = options.install ?? "link";
  const env: Record<string, string> = {
    FLEETLINE_BUILD_CHECKS: options.checks === false ? "false" : "true",
  };
  const version = resolvedSourceVersion(options.repoRoot);
  if (version) env.CODEBUILD_RESOLVED_SOURCE_VERSION = version;
  const pathPrefix: string[] = [];
  if (install === "link") {
    linkNodeModules(options.repoRoot, sourceDir);
    pathPrefix.push(buildShimDir);
    env.REHEARSE_REAL_NPM = realNpm();
  } else {
    env.npm_config_offline = "true";
  }
  const spec = parseBuildspec(join(sourceDir, "buildspec.yml"));
  const build = await runBuildspec({
    buildspec: spec,
    sourceDir,
    workDir: options.workDir,
    env,
    pathPrefix,
    ...(options.onLine ? { onLine: options.onLine } : {}),
    ...(options.onPhase ? { onPhase: options.onPhase } : {}),
  });
  const reports = collectReports(sourceDir, spec.reports);
  if (!build.succeeded) return { source, build, reports };
  const artifact = collectArtifact(sourceDir, spec.artifacts, join(options.workDir, "artifact"));
  let revision: string | undefined;
  try {
    revision = readFileSync(join(artifact.dir, "app", "REVISION"), "utf8").split("\n")[0];
  } catch {
    revision = undefined;
  }
  return { source, build, artifact, reports, ...(revision ? { revision } : {}) };
}
