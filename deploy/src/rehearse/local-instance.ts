// One local "EC2 instance" of the rehearsal: a directory that plays its filesystem root. Its
// bootstrap does what the user data does on AWS (deploy/CONTRACT.md): the environment file, the
// log directory and /usr/bin/node-24. Hooks see it through FLEETLINE_ROOT; systemd is the shim.
import { execFile } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { basename, join, resolve } from "node:path";
import { promisify } from "node:util";
import { type WebSettings, webEnv } from "@fleetline/web/config";

const execFileAsync = promisify(execFile);

export const unitName = "fleetline-web.service";
/** The web's system user as infra/lib/instance-bootstrap.sh creates it (deploy/CONTRACT.md). */
export const webUser = { name: "fleetline", uid: 990, shell: "/sbin/nologin" } as const;
/** The folder holding the rehearsal's `systemctl`, put first on the hooks' PATH. */
export const shimDir = resolve(import.meta.dirname, "bin");

export interface LocalInstanceOptions {
  /** Shown by the web and used as the load-balancer target id, e.g. "i-local-1". */
  readonly id: string;
  /** The folder that plays "/" for this instance (created, and emptied first). */
  readonly root: string;
  /** Port the web listens on (PORT in the environment file). */
  readonly port: number;
  /** Further settings of the environment file (DynamoDB endpoint, key-ring store…). Default: none. */
  readonly settings?: WebSettings;
}

export class LocalInstance {
  readonly id: string;
  readonly root: string;
  readonly port: number;
  readonly host = "127.0.0.1";
  readonly #settings: WebSettings;

  constructor(options: LocalInstanceOptions) {
    this.id = options.id;
    this.root = options.root;
    this.port = options.port;
    this.#settings = options.settings ?? {};
  }

  /** Plays the instance bootstrap (user data): what the hooks expect to find. */
  bootstrap(): void {
    rmSync(this.root, { recursive: true, force: true });
    for (const dir of ["etc/fleetline", "var/log/fleetline", "usr/bin", "opt", "run"]) {
      mkdirSync(join(this.root, dir), { recursive: true });
    }
    symlinkSync(process.execPath, join(this.root, "usr/bin/node-24"));
    // The accounts the agent's `runas` meets on EC2: root, and the web's user, which the
    // bootstrap creates with `useradd --system --shell /sbin/nologin` (a hook cannot run as it).
    writeFileSync(
      join(this.root, "etc/passwd"),
      [
        "root:x:0:0:root:/root:/bin/bash",
        `${webUser.name}:x:${webUser.uid}:${webUser.uid}::/:${webUser.shell}`,
        "",
      ].join("\n"),
    );
    writeFileSync(join(this.root, "etc/group"), `root:x:0:\n${webUser.name}:x:${webUser.uid}:\n`);
    const env = webEnv({
      NODE_ENV: "production",
      AWS_REGION: "us-east-1",
      USERS_TABLE: "Users",
      TRUST_PROXY: "127.0.0.1",
      LOG_LEVEL: "info",
      ...this.#settings,
      HOST: this.host,
      PORT: this.port,
      INSTANCE_ID: this.id,
      LOG_DIR: join(this.root, "var/log/fleetline"),
    });
    const lines = Object.entries(env).map(([k, v]) => `${k}=${v}`);
    writeFileSync(join(this.root, "etc/fleetline/web.env"), `${lines.join("\n")}\n`, {
      mode: 0o640,
    });
  }

  get target(): { readonly id: string; readonly host: string; readonly port: number } {
    return { id: this.id, host: this.host, port: this.port };
  }

  get healthUrl(): string {
    return `http://${this.host}:${this.port}/health/ready`;
  }

  /** Where the agent keeps archives and instructions, as /opt/codedeploy-agent/deployment-root. */
  get agentRoot(): string {
    return join(this.root, "opt/codedeploy-agent/deployment-root");
  }

  /** The release `current` points at (a deployment id), or undefined before the first install. */
  currentRelease(): string | undefined {
    const link = join(this.root, "opt/fleetline/current");
    return existsSync(link) ? basename(readlinkSync(link)) : undefined;
  }

  /** First line of the installed revision's REVISION file. */
  currentRevision(): string | undefined {
    const file = join(this.root, "opt/fleetline/current/app/REVISION");
    return existsSync(file) ? readFileSync(file, "utf8").split("\n")[0] : undefined;
  }

  /** The web's process id as the systemctl shim recorded it. */
  mainPid(): number | undefined {
    const file = join(this.root, "run/systemd-shim", `${unitName}.pid`);
    return existsSync(file) ? Number(readFileSync(file, "utf8").trim()) : undefined;
  }

  /** The release directory the running web was started from (its working directory). */
  runningRelease(): string | undefined {
    const pid = this.mainPid();
    if (pid === undefined) return undefined;
    try {
      const cwd = readlinkSync(`/proc/${pid}/cwd`);
      return basename(resolve(cwd, ".."));
    } catch {
      return undefined;
    }
  }

  /** What the web wrote to stdout and stderr (the journal, for the shim). */
  journal(): string {
    const file = join(this.root, "var/log/journal", `${unitName}.log`);
    return existsSync(file) ? readFileSync(file, "utf8") : "";
  }

  /** Stops the web the way an operator would, through systemctl; used to tear the fleet down. */
  async stop(): Promise<void> {
    if (!existsSync(join(this.root, "etc/systemd/system", unitName))) return;
    await execFileAsync(join(shimDir, "systemctl"), ["stop", unitName], {
      env: { ...process.env, FLEETLINE_ROOT: this.root },
    });
  }
}
