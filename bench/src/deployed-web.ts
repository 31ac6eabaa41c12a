// How EC2 runs the web, read from the files that decide it rather than retyped: the environment
// file the instance bootstrap writes (infra/lib/instance-bootstrap.sh) and the command line of the
// systemd unit (deploy/systemd/fleetline-web.service). A key added to either reaches the bench
// unchanged; a new deployment-time value ($FL_…) stops the bench until it is given a local one.
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { loadConfig } from "@fleetline/web/config";

const REPO_ROOT = resolve(import.meta.dirname, "../..");

const BOOTSTRAP = join(REPO_ROOT, "infra", "lib", "instance-bootstrap.sh");
const UNIT = join(REPO_ROOT, "deploy", "systemd", "fleetline-web.service");
/** Where the hooks install the bundle on EC2; the bench puts its own build there instead. */
const RELEASE_ROOT = "/opt/fleetline/current";

/** One way the bench's instance differs from EC2's, with why. */
export interface Difference {
  readonly key: string;
  /** What EC2 has: the bootstrap's line, or "unset". */
  readonly ec2: string;
  /** What the bench uses, or "unset". */
  readonly bench: string;
  readonly why: string;
}

/** The bootstrap's `KEY=value` lines for web.env, in order, values as written ($FL_… unexpanded). */
export function bootstrapEnvLines(
  script = readFileSync(BOOTSTRAP, "utf8"),
): Array<[string, string]> {
  const lines = script.split("\n");
  const start = lines.findIndex((l) => /^cat >"\$env_tmp" <<EOF$/.test(l));
  if (start < 0) throw new Error(`${BOOTSTRAP}: no 'cat >"$env_tmp" <<EOF' (web.env) found`);
  if (!/mv -f "\$env_tmp" \/etc\/fleetline\/web\.env/.test(script)) {
    throw new Error(`${BOOTSTRAP}: the heredoc is no longer what becomes /etc/fleetline/web.env`);
  }
  const out: Array<[string, string]> = [];
  for (const line of lines.slice(start + 1)) {
    if (line === "EOF") return out;
    const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (!match?.[1] || match[2] === undefined) {
      throw new Error(`${BOOTSTRAP}: web.env line not understood: ${JSON.stringify(line)}`);
    }
    out.push([match[1], match[2]]);
  }
  throw new Error(`${BOOTSTRAP}: the web.env heredoc has no closing EOF`);
}

/** The unit's command line and working directory, paths still as on EC2. */
export interface UnitCommand {
  readonly environmentFile: string;
  readonly workingDirectory: string;
  /** Node's own flags between the binary and the script (none today). */
  readonly nodeFlags: readonly string[];
  readonly script: string;
}

export function unitCommand(unit = readFileSync(UNIT, "utf8")): UnitCommand {
  const value = (key: string) => {
    const found = new RegExp(`^${key}=(.+)$`, "m").exec(unit)?.[1]?.trim();
    if (!found) throw new Error(`${UNIT}: no ${key}=`);
    return found;
  };
  const words = value("ExecStart").split(/\s+/);
  const [binary, ...rest] = words;
  const script = rest.pop();
  if (!binary || !/\/node(-\d+)?$/.test(binary) || !script?.startsWith(`${RELEASE_ROOT}/`)) {
    throw new Error(
      `${UNIT}: ExecStart is not "node [flags] ${RELEASE_ROOT}/…": ${words.join(" ")}`,
    );
  }
  return {
    environmentFile: value("EnvironmentFile"),
    workingDirectory: value("WorkingDirectory"),
    nodeFlags: rest,
    script,
  };
}

/** What the bench puts where EC2 has a deployment-time value or a machine-specific one. */
export interface LocalSetting {
  readonly port: number;
  readonly instanceId: string;
  readonly logDir: string;
  readonly dynamodbEndpoint: string;
  /** Root of the bundle deploy/src/bundle.ts built (holds app/dist/server.mjs). */
  readonly releaseRoot: string;
  /** A private redis-server (what EC2's key ring runs on), or the file store when none. */
  readonly redisUrl?: string;
  readonly keyringDir: string;
  /** The instance's local OpenID provider (local/src/oidc-provider.ts), where EC2 has Cognito. */
  readonly oidc: { readonly issuer: string; readonly clientId: string };
  /** Further keys on top, e.g. a second configuration; listed as differences. */
  readonly extra?: Readonly<Record<string, string>>;
}

/** Local values for the bootstrap's deployment-time variables (instance-bootstrap.ts's FL_*). */
function substitutes(local: LocalSetting): Readonly<Record<string, string>> {
  return {
    FL_REGION: "us-east-1",
    FL_USERS_TABLE: "Users",
    FL_CACHE_ADDRESS_PARAMETER: "/fleetline/bench/CacheAddress",
    FL_CACHE_AUTH_SECRET_ARN: "arn:aws:secretsmanager:us-east-1:000000000000:secret:bench",
    FL_VPC_CIDR: "10.50.0.0/16",
    // The instance's own local OpenID provider, as under `npm start`: the users pages need a
    // signed-in operator, and the bench signs in through it (WebInstance.signIn).
    FL_OIDC_ISSUER: local.oidc.issuer,
    FL_OIDC_CLIENT_ID: local.oidc.clientId,
    // Empty, so unset: the local provider supports RP-initiated logout, found by discovery
    // (Cognito's /logout does not, hence the variable on EC2).
    FL_OIDC_LOGOUT_URL: "",
    FL_PUBLIC_ORIGIN: `http://127.0.0.1:${local.port}`,
  };
}

export interface DeployedWeb {
  /** The process's whole environment, as systemd gives it (PATH plus the env file). */
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
  /** [...node flags, script] for process.execPath. */
  readonly args: readonly string[];
  readonly differences: readonly Difference[];
}

/** The web as fleetline-web.service starts it, with the local values listed in `differences`. */
export function deployedWeb(
  local: LocalSetting,
  /** The files' text, for tests; default read from the repository. */
  sources: { readonly bootstrap?: string; readonly unit?: string } = {},
): DeployedWeb {
  const unit = unitCommand(sources.unit);
  if (unit.environmentFile !== "/etc/fleetline/web.env") {
    throw new Error(
      `${UNIT}: EnvironmentFile is ${unit.environmentFile}, not the bootstrap's web.env`,
    );
  }
  const subs = substitutes(local);
  const env: Record<string, string> = {};
  for (const [key, raw] of bootstrapEnvLines(sources.bootstrap)) {
    env[key] = raw.replace(/\$\{?([A-Z][A-Z0-9_]*)\}?/g, (_, name: string) => {
      const value = subs[name];
      if (value === undefined) {
        throw new Error(
          `instance-bootstrap.sh writes ${key}=${raw}: the bench has no local value for $${name} (add one in bench/src/deployed-web.ts)`,
        );
      }
      return value;
    });
  }
  const differences: Difference[] = [];
  const set = (key: string, value: string | undefined, why: string) => {
    const before = env[key];
    if (value === undefined) delete env[key];
    else env[key] = value;
    differences.push({ key, ec2: before ?? "unset", bench: value ?? "unset", why });
  };
  set("PORT", String(local.port), "several instances share this machine");
  set(
    "LOG_DIR",
    local.logDir,
    "/var/log/fleetline is not ours here; logging as on EC2, to this directory",
  );
  set(
    "DYNAMODB_ENDPOINT",
    local.dynamodbEndpoint,
    "dynalite in its own process stands in for DynamoDB",
  );
  set("INSTANCE_ID", local.instanceId, "EC2 reads it from IMDSv2, which is not here");
  set(
    "RATE_LIMIT_WRITE_MAX",
    "100000000",
    "the load generator is one client: measure the site, not the abuse limit",
  );
  if (local.redisUrl) {
    set("REDIS_URL", local.redisUrl, "a private redis-server stands in for ElastiCache");
    set("REDIS_TLS", undefined, "the local redis-server speaks no TLS");
    set("REDIS_ADDRESS_PARAMETER", undefined, "no SSM here: REDIS_URL instead");
    set(
      "REDIS_AUTH_SECRET_ID",
      undefined,
      "no Secrets Manager here; the private redis has no AUTH",
    );
  } else {
    set("KEYRING_STORE", "file", "no redis-server on this machine");
    for (const key of ["REDIS_TLS", "REDIS_ADDRESS_PARAMETER", "REDIS_AUTH_SECRET_ID"]) {
      set(key, undefined, "not used by the file store");
    }
    set("KEYRING_DIR", local.keyringDir, "the file store's directory");
  }
  for (const [key, value] of Object.entries(local.extra ?? {}))
    set(key, value, "configuration compared");
  const mapPath = (path: string) =>
    path.startsWith(`${RELEASE_ROOT}/`)
      ? join(local.releaseRoot, path.slice(RELEASE_ROOT.length + 1))
      : path;
  // What the bench changed must still be a configuration the web starts with (its own schema).
  loadConfig(env);
  // systemd gives a service PATH and the EnvironmentFile's lines, not the caller's environment.
  return {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
    cwd: mapPath(unit.workingDirectory),
    args: [...unit.nodeFlags, mapPath(unit.script)],
    differences,
  };
}
