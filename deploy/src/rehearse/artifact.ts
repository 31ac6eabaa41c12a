// Collects the build's output as CodeBuild uploads it: the `files` patterns matched under
// `base-directory`, paths kept relative to it (or flattened with discard-paths). CodeBuild zips
// them; the rehearsal keeps a folder, which is what the CodeDeploy agent unpacks anyway.
import { copyFileSync, mkdirSync, rmSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import type { ArtifactsSpec, ReportSpec } from "./buildspec.js";
import { matchFiles } from "./path-patterns.js";

export interface CollectedArtifact {
  readonly dir: string;
  readonly files: readonly string[];
  readonly bytes: number;
}

export function collectArtifact(
  sourceDir: string,
  spec: ArtifactsSpec,
  dest: string,
): CollectedArtifact {
  const base = join(sourceDir, spec.baseDirectory);
  if (spec.files.length === 0)
    throw new Error("buildspec artifacts.files is empty: nothing to deploy");
  let files: string[];
  try {
    files = matchFiles(base, spec.files, spec.exclude);
  } catch (error) {
    throw new Error(
      `artifact base-directory ${spec.baseDirectory || "."} not found after the build`,
      {
        cause: error,
      },
    );
  }
  if (files.length === 0) {
    throw new Error(`no file under ${spec.baseDirectory || "."} matches ${spec.files.join(", ")}`);
  }
  rmSync(dest, { recursive: true, force: true });
  let bytes = 0;
  const written: string[] = [];
  for (const rel of files) {
    const target = spec.discardPaths ? basename(rel) : rel;
    mkdirSync(dirname(join(dest, target)), { recursive: true });
    copyFileSync(join(base, rel), join(dest, target));
    bytes += statSync(join(base, rel)).size;
    written.push(target);
  }
  return { dir: dest, files: written, bytes };
}

/** Report files the build left, per report group (CodeBuild would upload them). */
export function collectReports(
  sourceDir: string,
  reports: readonly ReportSpec[],
): ReadonlyArray<{ readonly name: string; readonly files: readonly string[] }> {
  return reports.map((report) => {
    const base = join(sourceDir, report.baseDirectory);
    let files: string[] = [];
    try {
      files = matchFiles(base, report.files).map((f) => join(base, f));
    } catch {
      // No report folder: the checks were skipped or never ran.
    }
    return { name: report.name, files };
  });
}
