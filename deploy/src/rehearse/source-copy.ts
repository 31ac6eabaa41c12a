// A clean copy of the working tree, the way CodeBuild receives the source: the files git tracks
// plus new files not ignored (so uncommitted work is rehearsed before it is pushed), and none of
// node_modules, .build, .fleetline or other ignored output. Without git, a walk that skips those.
import { execFileSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  rmSync,
  symlinkSync,
} from "node:fs";
import { dirname, join } from "node:path";

export interface SourceCopy {
  readonly dir: string;
  readonly method: "git ls-files" | "directory walk";
  readonly files: number;
}

const skippedWithoutGit = new Set([
  ".git",
  "node_modules",
  ".build",
  ".fleetline",
  "cdk.out",
  "reports",
]);

function gitFiles(repoRoot: string): string[] | undefined {
  if (!existsSync(join(repoRoot, ".git"))) return undefined;
  try {
    const out = execFileSync(
      "git",
      ["ls-files", "-z", "--cached", "--others", "--exclude-standard"],
      { cwd: repoRoot, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 },
    );
    return out.split("\0").filter((f) => f !== "");
  } catch {
    return undefined;
  }
}

function walk(root: string, prefix = ""): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(root, prefix), { withFileTypes: true })) {
    if (skippedWithoutGit.has(entry.name)) continue;
    const rel = prefix === "" ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) out.push(...walk(root, rel));
    else out.push(rel);
  }
  return out;
}

export function copyWorkingTree(repoRoot: string, dest: string): SourceCopy {
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(dest, { recursive: true });
  const listed = gitFiles(repoRoot);
  const files = listed ?? walk(repoRoot);
  let copied = 0;
  for (const rel of files) {
    const from = join(repoRoot, rel);
    // Files deleted in the working tree but still in the index are gone from the build too.
    if (!existsSync(from) || lstatSync(from).isDirectory()) continue;
    mkdirSync(dirname(join(dest, rel)), { recursive: true });
    copyFileSync(from, join(dest, rel));
    copied++;
  }
  return { dir: dest, method: listed ? "git ls-files" : "directory walk", files: copied };
}

/**
 * Points the copy's node_modules (root and per workspace) at the repository's own, so a build
 * needs neither the network nor minutes of `npm ci`. Returns the links made.
 */
export function linkNodeModules(repoRoot: string, copyDir: string): string[] {
  const links: string[] = [];
  const candidates = [".", ...readdirSync(copyDir)];
  for (const rel of candidates) {
    const real = join(repoRoot, rel, "node_modules");
    const link = join(copyDir, rel, "node_modules");
    if (existsSync(real) && existsSync(join(copyDir, rel)) && !existsSync(link)) {
      symlinkSync(real, link, "dir");
      links.push(link);
    }
  }
  return links;
}
