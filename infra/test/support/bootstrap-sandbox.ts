/**
 * Runs an instance's user data, as the resolved template hands it to EC2, in a throwaway root:
 * a private mount namespace (`unshare --mount`) with the host's /usr bound read-only, a fresh
 * /etc, /opt, /var and /tmp, and `chroot` into it, so the script's absolute paths
 * (/etc/fleetline/web.env, /opt/aws/…) land in the sandbox and never on this machine. The
 * programs only Amazon Linux has (dnf, systemctl, cfn-signal, the agents) are the stand-in in
 * bootstrap-sandbox/standin, first on PATH; bash, coreutils, `install`, `id` and `mktemp` are the
 * real ones. Needs root (as CI has) for the namespace and chroot.
 */
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const STANDIN = new URL("./bootstrap-sandbox/standin", import.meta.url);
/** Names the stand-in answers to, and where the bootstrap looks for them. */
const ON_PATH = ["dnf", "systemctl", "useradd", "curl", "nginx", "sleep"];

export interface SandboxOptions {
  /** Make a call fail: the program's name and an extended regex over its arguments. */
  readonly fail?: { readonly command: string; readonly args?: string };
  /** What IMDS answers for autoscaling/target-lifecycle-state. @default "InService" */
  readonly lifecycleState?: string;
}

export interface Call {
  readonly command: string;
  readonly args: readonly string[];
}

export interface SandboxRun {
  readonly status: number | null;
  readonly stderr: string;
  readonly calls: readonly Call[];
  /** Calls of one program. */
  callsOf(command: string): Call[];
  /** A file of the sandbox by its path on the instance, or undefined. */
  read(path: string): string | undefined;
}

/** Why the sandbox cannot run here (not root, no unshare), or undefined when it can. */
export function sandboxUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root (mount namespace and chroot)";
  const probe = spawnSync("unshare", ["--mount", "--propagation", "private", "true"], {
    encoding: "utf8",
  });
  if (probe.status !== 0)
    return `unshare --mount fails here: ${probe.stderr.trim() || probe.error}`;
  return undefined;
}

export function runUserData(userData: string, options: SandboxOptions = {}): SandboxRun {
  const root = mkdtempSync(join(tmpdir(), "fleetline-instance-"));
  try {
    for (const dir of ["usr", "dev", "etc", "opt", "tmp", "var/log", "run", "sandbox/bin"]) {
      mkdirSync(join(root, dir), { recursive: true });
    }
    for (const link of ["bin", "sbin", "lib", "lib64"]) {
      if (existsSync(`/${link}`)) symlinkSync(`usr/${link}`, join(root, link));
    }
    // Enough of /etc for `id`, `install -o` and bash: the accounts of a fresh AL2023 image.
    writeFileSync(join(root, "etc/passwd"), "root:x:0:0:root:/root:/bin/bash\n");
    writeFileSync(join(root, "etc/group"), "root:x:0:\n");
    copyFileSync("/etc/nsswitch.conf", join(root, "etc/nsswitch.conf"));
    chmodSync(join(root, "tmp"), 0o1777);

    copyFileSync(STANDIN, join(root, "sandbox/bin/standin"));
    chmodSync(join(root, "sandbox/bin/standin"), 0o755);
    for (const name of ON_PATH) symlinkSync("standin", join(root, "sandbox/bin", name));
    mkdirSync(join(root, "sandbox/state"));
    writeFileSync(join(root, "sandbox/calls.log"), "");
    writeFileSync(join(root, "sandbox/state/lifecycle"), options.lifecycleState ?? "InService");
    if (options.fail) {
      writeFileSync(
        join(root, "sandbox/fail"),
        `${options.fail.command}\t${options.fail.args ?? ".*"}\n`,
      );
    }
    writeFileSync(join(root, "user-data"), userData, { mode: 0o755 });

    // cloud-init runs the user data as root with a minimal environment.
    const script = [
      "set -e",
      `mount --bind -o ro /usr "${root}/usr"`,
      `mount --bind /dev "${root}/dev"`,
      `exec chroot "${root}" /usr/bin/env -i PATH=/sandbox/bin:/usr/local/bin:/usr/bin:/usr/sbin HOME=/root /bin/bash /user-data`,
    ].join("\n");
    const result = spawnSync(
      "unshare",
      ["--mount", "--propagation", "private", "sh", "-c", script],
      {
        encoding: "utf8",
        timeout: 60_000,
      },
    );
    const calls = readFileSync(join(root, "sandbox/calls.log"), "utf8")
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => {
        const [command, ...args] = line.split("\t");
        return { command: command!, args };
      });
    // Read what tests look at before the root goes.
    const files = new Map<string, string>();
    for (const path of [
      "/etc/fleetline/web.env",
      "/opt/aws/amazon-cloudwatch-agent/etc/fleetline.json",
      "/etc/nginx/conf.d/fleetline.conf",
      "/etc/passwd",
    ]) {
      const full = join(root, path);
      if (existsSync(full)) files.set(path, readFileSync(full, "utf8"));
    }
    return {
      status: result.status,
      stderr: `${result.stderr}${result.error ? `\n${result.error}` : ""}`,
      calls,
      callsOf: (command) => calls.filter((c) => c.command === command),
      read: (path) => files.get(path),
    };
  } finally {
    removeRoot(root);
  }
}

/**
 * The binds lived in the namespace, which ended with the script. Were one still visible here,
 * deleting the root would reach into the host's /usr or /dev: leave it and say so instead.
 */
function removeRoot(root: string): void {
  const stillBound = ["usr", "dev"].filter((bound) => {
    const dir = join(root, bound);
    return existsSync(dir) && readdirSync(dir).length > 0;
  });
  if (stillBound.length > 0) {
    console.error(`${root}: ${stillBound.join(", ")} still mounted; left in place`);
    return;
  }
  rmSync(root, { recursive: true, force: true });
}
