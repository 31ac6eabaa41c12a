// Builds the CodeDeploy artifact (layout in deploy/CONTRACT.md) into .build/artifact/:
// the web server as one ESM file by esbuild, its static assets, the appspec, hooks, the systemd
// unit and the proxy config. The artifact carries no node_modules, so it must stay self-contained
// and small (budget below).
//
//   npm run bundle [-- --out DIR]
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { build } from "esbuild";

/** Options of {@link bundle}. */
export interface BundleOptions {
  /** Repository root. Default: the parent of this file's folder. */
  readonly repoRoot?: string;
  /** Where the artifact is written (emptied first). Default: `<repoRoot>/.build/artifact`. */
  readonly outDir?: string;
  /** Largest artifact accepted, in bytes. Default: 5 MiB. */
  readonly maxBytes?: number;
}

export interface BundleResult {
  readonly outDir: string;
  readonly totalBytes: number;
  readonly serverBytes: number;
  readonly revision: string;
}

const defaultRoot = resolve(import.meta.dirname, "..", "..");

// Bundled CommonJS dependencies (fastify, pino, the AWS SDK) call require() and read __dirname;
// an ESM output has neither unless we define them.
const esmBanner = [
  'import { createRequire as __fleetlineCreateRequire } from "node:module";',
  'import { fileURLToPath as __fleetlineFileURLToPath } from "node:url";',
  'import { dirname as __fleetlineDirname } from "node:path";',
  "const require = __fleetlineCreateRequire(import.meta.url);",
  "const __filename = __fleetlineFileURLToPath(import.meta.url);",
  "const __dirname = __fleetlineDirname(__filename);",
].join("\n");

function sourceRevision(repoRoot: string): string {
  // CodeBuild checks out without .git more often than not, but always sets this variable.
  const fromCodeBuild = process.env.CODEBUILD_RESOLVED_SOURCE_VERSION;
  if (fromCodeBuild) return fromCodeBuild;
  try {
    const commit = execFileSync("git", ["rev-parse", "HEAD"], { cwd: repoRoot, encoding: "utf8" });
    const dirty = execFileSync("git", ["status", "--porcelain"], {
      cwd: repoRoot,
      encoding: "utf8",
    });
    return `${commit.trim()}${dirty.trim() === "" ? "" : "-dirty"}`;
  } catch {
    return "unknown";
  }
}

function directoryBytes(dir: string): number {
  let total = 0;
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    const stat = statSync(full);
    total += stat.isDirectory() ? directoryBytes(full) : stat.size;
  }
  return total;
}

export async function bundle(options: BundleOptions = {}): Promise<BundleResult> {
  const repoRoot = options.repoRoot ?? defaultRoot;
  const outDir = options.outDir ?? join(repoRoot, ".build", "artifact");
  const maxBytes = options.maxBytes ?? 5 * 1024 * 1024;
  const deployDir = join(repoRoot, "deploy");

  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(join(outDir, "app", "dist"), { recursive: true });

  const serverFile = join(outDir, "app", "dist", "server.mjs");
  await build({
    entryPoints: [join(repoRoot, "web", "src", "server.ts")],
    outfile: serverFile,
    bundle: true,
    platform: "node",
    // Production runs Node 24; Node 20 is what developers' machines may still have.
    target: "node20",
    format: "esm",
    banner: { js: esmBanner },
    minifySyntax: true,
    minifyWhitespace: true,
    // No keepNames: identifiers are not minified, so names survive anyway, and keepNames wraps
    // every function created at run time in a defineProperty call: +15–45 % CPU per request
    // (bench/README.md).
    keepNames: false,
    legalComments: "none",
    logLevel: "warning",
  });

  cpSync(join(deployDir, "appspec.yml"), join(outDir, "appspec.yml"));
  for (const part of ["hooks", "systemd", "nginx"]) {
    cpSync(join(deployDir, part), join(outDir, part), { recursive: true });
  }
  // CodeDeploy executes hooks directly, so they must stay executable whatever the checkout did.
  for (const name of readdirSync(join(outDir, "hooks"))) {
    if (name.endsWith(".sh")) chmodSync(join(outDir, "hooks", name), 0o755);
  }
  const publicDir = join(repoRoot, "web", "public");
  mkdirSync(join(outDir, "app", "public"), { recursive: true });
  if (existsSync(publicDir)) cpSync(publicDir, join(outDir, "app", "public"), { recursive: true });

  const revision = sourceRevision(repoRoot);
  writeFileSync(
    join(outDir, "app", "REVISION"),
    `${revision}\nbuilt ${new Date().toISOString()}\n`,
  );

  const totalBytes = directoryBytes(outDir);
  const serverBytes = statSync(serverFile).size;
  if (totalBytes > maxBytes) {
    throw new Error(
      `artifact is ${totalBytes} bytes, over the ${maxBytes}-byte budget; server.mjs alone is ${serverBytes}`,
    );
  }
  return { outDir, totalBytes, serverBytes, revision };
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const { values } = parseArgs({ options: { out: { type: "string" } } });
  const result = await bundle(values.out ? { outDir: resolve(values.out) } : {});
  const mib = (n: number) => (n / 1024 / 1024).toFixed(2);
  console.log(
    `artifact ${relative(process.cwd(), result.outDir) || "."}: ${mib(result.totalBytes)} MiB ` +
      `(server.mjs ${mib(result.serverBytes)} MiB), revision ${result.revision}`,
  );
}
