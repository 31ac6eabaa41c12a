// The agent's file work: the bundle unpacked into the archive at DownloadBundle, and at Install
// the previous install removed (its files, then the folders it created, each once empty), the
// appspec `files` copied (mode, times and, as root, owner kept; two sources to one destination
// refused before anything is copied), `permissions` applied, and what was created recorded.
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { basename, dirname, join, relative } from "node:path";
import { type Appspec, AppspecError, type AppspecPermission } from "./appspec.js";
import { patternToRegExp } from "./path-patterns.js";

/** Everything below `dir` (folders before what they hold), as paths relative to it. */
function walk(dir: string, prefix = ""): Array<{ rel: string; directory: boolean }> {
  const out: Array<{ rel: string; directory: boolean }> = [];
  for (const entry of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix === "" ? entry.name : `${prefix}/${entry.name}`;
    out.push({ rel, directory: entry.isDirectory() });
    if (entry.isDirectory()) out.push(...walk(dir, rel));
  }
  return out;
}

/** Mode, access and modification times, and (as root) owner of `from`, onto `to`. */
function copyAttributes(from: string, to: string): void {
  const st = lstatSync(from);
  chmodSync(to, st.mode & 0o7777);
  utimesSync(to, st.atime, st.mtime);
  if (process.getuid?.() === 0) lchownSync(to, st.uid, st.gid);
}

/** The bundle into the archive folder, keeping what unpacking the agent's zip/tar keeps. */
export function unpackBundle(from: string, to: string): void {
  rmSync(to, { recursive: true, force: true });
  mkdirSync(to, { recursive: true });
  const entries = walk(from);
  for (const { rel, directory } of entries) {
    const source = join(from, rel);
    const target = join(to, rel);
    if (directory) {
      mkdirSync(target, { recursive: true });
      continue;
    }
    copyFileSync(source, target);
    copyAttributes(source, target);
  }
  // Folders last, deepest first, so writing into them does not change their times again.
  for (const { rel } of entries.filter((e) => e.directory).reverse()) {
    copyAttributes(join(from, rel), join(to, rel));
  }
  copyAttributes(from, to);
}

export interface InstallOptions {
  /** The folder that plays "/" on the instance: destinations and objects are below it. */
  readonly instanceRoot: string;
  /** The unpacked revision. */
  readonly archive: string;
  readonly spec: Appspec;
  /** Lists what the previous Install created; rewritten with what this one creates. */
  readonly cleanupFile: string;
}

/** Names to ids in the instance's own account files (etc/passwd, etc/group). */
function idOf(instanceRoot: string, file: "passwd" | "group", name: string): number {
  if (/^\d+$/.test(name)) return Number(name);
  const path = join(instanceRoot, "etc", file);
  const line = existsSync(path)
    ? readFileSync(path, "utf8")
        .split("\n")
        .find((l) => l.split(":")[0] === name)
    : undefined;
  const id = line?.split(":")[2];
  if (id === undefined) {
    throw new Error(
      `permissions: no ${file === "passwd" ? "user" : "group"} ${name} on the instance`,
    );
  }
  return Number(id);
}

/** The previous install's files go, then the folders it created, each once empty. */
function removePreviousInstall(cleanupFile: string): void {
  if (!existsSync(cleanupFile)) return;
  const entries = readFileSync(cleanupFile, "utf8").split("\n").filter(Boolean);
  for (const path of entries.filter((p) => !p.endsWith("/"))) rmSync(path, { force: true });
  // Deepest first, so a folder is empty by the time its turn comes.
  for (const dir of entries.filter((p) => p.endsWith("/")).reverse()) {
    try {
      rmdirSync(dir);
    } catch {
      // Not empty (something else put files there) or gone: the agent leaves it too.
    }
  }
}

function applyPermission(instanceRoot: string, permission: AppspecPermission): void {
  const object = join(instanceRoot, permission.object);
  if (!existsSync(object)) return;
  const include = patternToRegExp(permission.pattern);
  const except = permission.except.map(patternToRegExp);
  const targets: Array<{ path: string; directory: boolean }> = [];
  if (statSync(object).isDirectory()) {
    for (const { rel, directory } of walk(object)) {
      const name = basename(rel);
      if (!include.test(rel) && !include.test(name)) continue;
      if (except.some((r) => r.test(rel) || r.test(name))) continue;
      targets.push({ path: join(object, rel), directory });
    }
  } else {
    targets.push({ path: object, directory: false });
  }
  for (const { path, directory } of targets) {
    if (!permission.type.includes(directory ? "directory" : "file")) continue;
    if (permission.mode !== undefined) chmodSync(path, permission.mode);
    if (permission.owner !== undefined || permission.group !== undefined) {
      const st = statSync(path);
      chownSync(
        path,
        permission.owner !== undefined ? idOf(instanceRoot, "passwd", permission.owner) : st.uid,
        permission.group !== undefined ? idOf(instanceRoot, "group", permission.group) : st.gid,
      );
    }
  }
}

/** Install's copy; returns how many files were copied. */
export function installFiles(options: InstallOptions): number {
  const { archive, spec, instanceRoot } = options;
  // Where every file goes, checked whole before anything is copied.
  const plan: Array<{ source: string; target: string; directory: boolean }> = [];
  const seen = new Map<string, string>();
  for (const entry of spec.files) {
    const from = join(archive, entry.source);
    if (!existsSync(from)) throw new Error(`files: ${entry.source} is not in the bundle`);
    const to = join(instanceRoot, entry.destination);
    const items = statSync(from).isDirectory()
      ? walk(from).map(({ rel, directory }) => ({
          source: join(from, rel),
          target: join(to, rel),
          directory,
        }))
      : [{ source: from, target: join(to, basename(from)), directory: false }];
    for (const item of items) {
      if (!item.directory) {
        const other = seen.get(item.target);
        if (other !== undefined) {
          throw new AppspecError(
            `The deployment failed because the application specification file specifies two source files (${other}, ${relative(archive, item.source)}) trying to copy to the same destination: ${item.target}`,
          );
        }
        seen.set(item.target, relative(archive, item.source));
      }
      plan.push(item);
    }
  }

  removePreviousInstall(options.cleanupFile);
  const created: string[] = [];
  // A folder's times change as files land in it: its own are set once everything is copied.
  const folders: Array<{ source: string; target: string }> = [];
  const makeDir = (dir: string, like?: string) => {
    if (existsSync(dir)) return;
    makeDir(dirname(dir));
    mkdirSync(dir);
    if (like) folders.push({ source: like, target: dir });
    created.push(`${dir}/`);
  };
  let files = 0;
  for (const { source, target, directory } of plan) {
    if (directory) {
      makeDir(target, source);
      continue;
    }
    if (existsSync(target)) {
      if (spec.fileExistsBehavior === "RETAIN") continue;
      if (spec.fileExistsBehavior === "DISALLOW") {
        throw new Error(
          `The deployment failed because a specified file already exists at this location: ${target}`,
        );
      }
      rmSync(target, { force: true });
    }
    makeDir(dirname(target));
    copyFileSync(source, target);
    copyAttributes(source, target);
    created.push(target);
    files++;
  }
  for (const { source, target } of folders.reverse()) copyAttributes(source, target);
  for (const permission of spec.permissions) applyPermission(instanceRoot, permission);
  mkdirSync(dirname(options.cleanupFile), { recursive: true });
  writeFileSync(options.cleanupFile, created.length > 0 ? `${created.join("\n")}\n` : "");
  return files;
}
