#!/usr/bin/env node
/**
 * `npm start`: the whole fleet on one machine. Reads the command line and REDIS_URL, prints a
 * banner, and runs until Ctrl-C, q, SIGINT or SIGTERM.
 */
import { emitKeypressEvents } from "node:readline";
import { type CliOptions, parseCli, usage } from "./cli-options.js";
import { type LocalStack, startLocalStack } from "./local-stack.js";
import { createLineLogger } from "./logger.js";

function describeStore(stack: LocalStack, redisUrl: string | undefined): string[] {
  switch (stack.keyring) {
    case "memory":
      return [
        "memory — each instance keeps its own signing keys.",
        "             This reproduces the original's failure ON PURPOSE: a form served by one",
        '             instance and posted to another is rejected ("this form expired or did not',
        '             come from this site"). Restart without --keyring to see the fix.',
      ];
    case "redis":
      return [
        `redis at ${(redisUrl ?? "").replace(/\/\/[^@/]*@/, "//***@")} (shared by all instances)`,
      ];
    default:
      return [
        `file store in ${stack.stateDir ? `${stack.stateDir}/keys` : "a temporary directory"} (shared by all instances)`,
      ];
  }
}

function banner(stack: LocalStack, options: CliOptions): string {
  const lines = [
    "",
    "  fleetline is running",
    "",
    `  site       ${stack.url}   ← open this (load balancer, round robin)`,
    `  instances  ${stack.instances.map((i) => `${i.id} ${i.url}`).join(", ")}`,
    `  DynamoDB   ${stack.dynamoDbEndpoint} (dynalite; ${stack.stateDir ? `data in ${stack.stateDir}/data` : "in memory, lost on stop"})`,
    `  key ring   ${describeStore(stack, options.redisUrl).join("\n")}`,
    `  rate limit ${stack.keyring === "redis" ? "counted in Redis, shared by all instances" : "counted per instance (use Redis to share the count)"}`,
    `  sign-in    OpenID provider ${stack.oidc.issuer} (oidc-provider; Cognito on AWS)`,
    `             e-mail    ${stack.oidc.operator.email}`,
    `             password  ${stack.oidc.operator.password}${stack.stateDir ? `   (kept in ${stack.stateDir}/oidc/operator.json)` : "   (this run only)"}`,
    "",
    process.stdin.isTTY
      ? "  keys       r rolling restart · s status · q or Ctrl-C stop"
      : `  control    kill -HUP ${process.pid} rolling restart · kill -TERM ${process.pid} stop`,
    "",
  ];
  return `${lines.join("\n")}\n`;
}

function status(stack: LocalStack): string {
  const lb = new Map(stack.loadBalancer.targets().map((t) => [t.id, t]));
  const rows = stack.fleet.instances().map((i) => {
    const t = lb.get(i.id);
    return `  ${i.id}  port ${i.port}  pid ${i.pid ?? "-"}  process ${i.status}  lb ${t?.state ?? "not registered"}  in flight ${t?.inFlight ?? 0}  crashes ${i.crashes}`;
  });
  return `${rows.join("\n")}\n`;
}

async function main(): Promise<void> {
  let options: CliOptions | "help";
  try {
    options = parseCli(process.argv.slice(2), process.env);
  } catch (err) {
    process.stderr.write(`fleetline: ${(err as Error).message}\n\n${usage}\n`);
    process.exit(2);
  }
  if (options === "help") {
    process.stdout.write(`${usage}\n`);
    return;
  }
  const logger = createLineLogger({ prefix: "fleetline" });
  const write = (line: string) => process.stdout.write(line);
  let stack: LocalStack | undefined;
  let stopping = false;
  const stop = async (why: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(
      `\nfleetline: ${why}; stopping the load balancer, instances and DynamoDB…\n`,
    );
    if (process.stdin.isTTY) process.stdin.setRawMode(false);
    process.stdin.pause();
    await stack?.stop();
    process.stdout.write("fleetline: stopped, nothing left running.\n");
    process.exit(0);
  };
  process.once("SIGINT", () => void stop("SIGINT"));
  process.once("SIGTERM", () => void stop("SIGTERM"));

  try {
    stack = await startLocalStack({
      instances: options.instances,
      port: options.port,
      instancePort: options.instancePort,
      keyring: options.keyring,
      inMemory: options.inMemory,
      ...(options.redisUrl ? { redisUrl: options.redisUrl } : {}),
      output: write,
      logger,
    });
  } catch (err) {
    // A PortInUseError's message already names the flag that fixes it.
    process.stderr.write(`fleetline: ${(err as Error).message}\n`);
    process.exit(1);
  }
  if (stopping) return;
  process.stdout.write(banner(stack, options));
  const running = stack;

  const rolling = () => {
    process.stdout.write("fleetline: rolling restart, one instance at a time through draining\n");
    running.rollingRestart().then(
      () => process.stdout.write("fleetline: rolling restart done\n"),
      (err: Error) => process.stderr.write(`fleetline: rolling restart failed: ${err.message}\n`),
    );
  };
  process.on("SIGHUP", rolling);

  if (process.stdin.isTTY) {
    emitKeypressEvents(process.stdin);
    process.stdin.setRawMode(true);
    process.stdin.on("keypress", (_text: string, key: { name?: string; ctrl?: boolean }) => {
      if (key.ctrl && key.name === "c") void stop("Ctrl-C");
      else if (key.name === "q") void stop("q pressed");
      else if (key.name === "r") rolling();
      else if (key.name === "s") process.stdout.write(status(running));
    });
  }
}

void main();
