import { parseArgs } from "node:util";
import type { KeyringStore } from "./shared-services.js";

export const usage = `Usage: npm start -- [options]

  --instances N        web instances behind the load balancer (default 2)
  --port P             load balancer port (default 8080)
  --instance-port P    port of the first instance, the others follow (default 5001)
  --keyring STORE      memory | file | redis (default: redis when REDIS_URL is set, else file)
  --in-memory          keep nothing: DynamoDB in memory, keys in a temporary directory
  -h, --help           this text

While running: r = rolling restart, s = status, q or Ctrl-C = stop.
Without a terminal: kill -HUP <pid> for a rolling restart, kill -TERM <pid> to stop.`;

export interface CliOptions {
  readonly instances: number;
  readonly port: number;
  readonly instancePort: number;
  readonly keyring: KeyringStore;
  readonly inMemory: boolean;
  readonly redisUrl: string | undefined;
}

export class UsageError extends Error {}

function wholeNumber(name: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new UsageError(`${name} must be a whole number from ${min} to ${max} (got "${text}")`);
  }
  return value;
}

/** The CLI's options from argv and the environment; "help" for -h; UsageError when wrong. */
export function parseCli(argv: ReadonlyArray<string>, env: NodeJS.ProcessEnv): CliOptions | "help" {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      instances: { type: "string", default: "2" },
      port: { type: "string", default: "8080" },
      "instance-port": { type: "string", default: "5001" },
      keyring: { type: "string" },
      "in-memory": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) return "help";
  const redisUrl = env.REDIS_URL?.trim() || undefined;
  const keyring = values.keyring ?? (redisUrl ? "redis" : "file");
  if (keyring !== "memory" && keyring !== "file" && keyring !== "redis") {
    throw new UsageError(`--keyring must be memory, file or redis (got "${keyring}")`);
  }
  if (keyring === "redis" && !redisUrl) {
    throw new UsageError("--keyring redis needs REDIS_URL, e.g. REDIS_URL=redis://127.0.0.1:6379");
  }
  return {
    instances: wholeNumber("--instances", values.instances, 1, 16),
    port: wholeNumber("--port", values.port, 0, 65535),
    instancePort: wholeNumber("--instance-port", values["instance-port"], 0, 65535),
    keyring,
    inMemory: values["in-memory"],
    redisUrl,
  };
}
