/**
 * `npm run deploy` / `npm run destroy`: replaces the original's Windows-only aws-cli-deploy.bat.
 * Validates the parameter file locally, then (unless --dry-run) drives CloudFormation through
 * cloudformation-ops.ts. See infra/README.md.
 */
import { readFileSync } from "node:fs";
import { relative, resolve } from "node:path";
import { createInterface } from "node:readline/promises";
import { fileURLToPath } from "node:url";
import { PIECE_CATALOG, type PieceEntry, pieceEntry, piecesInOrder } from "../lib/piece-catalog.js";
import { type CliOptions, parseCliArgs, USAGE, UsageError } from "./cli-args.js";
import {
  type AwsClients,
  CHANGE_SET_WAIT,
  deployStack,
  destroyStack,
  type OperationOptions,
  STACK_WAIT,
  type Terminal,
  type WaitOptions,
} from "./cloudformation-ops.js";
import {
  checkParameters,
  type ParameterCheck,
  type ParameterEntry,
  parseParameterFile,
  type TemplateParameters,
} from "./parameter-file.js";
import { buildPlan, formatPlan, type Plan, type TemplateDocument } from "./plan.js";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const templatePath = resolve(repoRoot, "cloudformation/fleetline.template.json");
const piecePath = (entry: PieceEntry) => resolve(repoRoot, "cloudformation/pieces", entry.file);

function readTemplate(path: string): TemplateDocument {
  return JSON.parse(readFileSync(path, "utf8")) as TemplateDocument;
}

/** The pieces the command line names, in the order the command runs them. */
function selectedPieces(options: CliOptions): PieceEntry[] | undefined {
  if (!options.pieces) return undefined;
  const pieces =
    options.pieces.kind === "one"
      ? [pieceEntry(options.pieces.name)]
      : piecesInOrder(options.existing);
  // Teardown goes the other way: a piece goes only once nothing imports its exports any more.
  return options.command === "destroy" ? pieces.reverse() : pieces;
}

/**
 * Checks one parameter file for several pieces: a name no piece declares is unknown (with a "did
 * you mean"), and each piece gets its own check of the names it declares (required values,
 * patterns, ranges), so the one-shot file serves every piece and each piece receives only its own.
 * The same problem found by several pieces is listed once.
 */
function checkPieces(
  entries: readonly ParameterEntry[],
  templates: ReadonlyArray<TemplateDocument>,
): { errors: string[]; checks: ParameterCheck[] } {
  const known: Record<string, TemplateParameters[string]> = {};
  for (const entry of PIECE_CATALOG)
    Object.assign(known, readTemplate(piecePath(entry)).Parameters);
  const unknown = entries.filter((e) => !(e.key in known));
  const errors = new Set(
    checkParameters(unknown, known).errors.filter((e) => /unknown parameter/.test(e)),
  );
  const checks = templates.map((t) => {
    const check = checkParameters(
      entries.filter((e) => e.key in t.Parameters),
      t.Parameters,
    );
    for (const e of check.errors) errors.add(e);
    return check;
  });
  return { errors: [...errors], checks };
}

function fail(message: string, code = 2): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

/** How long one HTTP request may take, and how often it is tried, before the CLI gives up. */
interface Transport {
  /** Until the answer's headers arrive, and the longest silence of the socket after, in seconds. */
  readonly requestTimeout: number;
  /** Establishing the connection, in seconds. */
  readonly connectionTimeout: number;
  /** Tries of one call, the first included (the SDK retries throttling, 5xx and timeouts). */
  readonly maxAttempts: number;
}

/** CloudFormation answers in well under a second; 60 s leaves room for the template upload. */
const TRANSPORT: Transport = { requestTimeout: 60, connectionTimeout: 10, maxAttempts: 3 };

async function makeClients(options: CliOptions, transport: Transport): Promise<AwsClients> {
  // Imported here so --dry-run and validation never load (or configure) the SDK. Endpoints come
  // from the SDK's own settings (AWS_ENDPOINT_URL_CLOUDFORMATION…), which is how tests reach it.
  const [
    { CloudFormationClient },
    { S3Client },
    { STSClient },
    { ElasticLoadBalancingV2Client },
    { NodeHttpHandler },
  ] = await Promise.all([
    import("@aws-sdk/client-cloudformation"),
    import("@aws-sdk/client-s3"),
    import("@aws-sdk/client-sts"),
    import("@aws-sdk/client-elastic-load-balancing-v2"),
    import("@smithy/node-http-handler"),
  ]);
  // The SDK's handler has no timeout by default, and its requestTimeout alone only logs a
  // warning: without throwOnRequestTimeout a silent endpoint hangs the CLI for good. The socket
  // timeout also catches an answer whose body stalls after its headers.
  const config = () => ({
    region: options.region,
    profile: options.profile,
    maxAttempts: transport.maxAttempts,
    requestHandler: new NodeHttpHandler({
      connectionTimeout: transport.connectionTimeout * 1000,
      requestTimeout: transport.requestTimeout * 1000,
      socketTimeout: transport.requestTimeout * 1000,
      throwOnRequestTimeout: true,
    }),
  });
  const cloudformation = new CloudFormationClient(config());
  const clients = {
    cloudformation,
    s3: new S3Client(config()),
    sts: new STSClient(config()),
    elbv2: new ElasticLoadBalancingV2Client(config()),
  };
  for (const client of Object.values(clients)) nameFailedCalls(client);
  return { ...clients, region: () => cloudformation.config.region() };
}

/** An error thrown by a client, with the call it came from (set by nameFailedCalls). */
interface CallError extends Error {
  fleetlineCall?: string;
  $metadata?: { attempts?: number };
}

/**
 * Tags a client's errors with the call that failed, so "no answer" can say from what (a timeout
 * names neither service nor operation). Typed loosely: each client's middleware stack is generic
 * in its own inputs and outputs, and this middleware only passes them through.
 */
function nameFailedCalls(client: {
  middlewareStack: { add: (m: never, o: { step: "initialize"; name: string }) => void };
}): void {
  const middleware =
    (next: (args: unknown) => Promise<unknown>, context: Record<string, unknown>) =>
    async (args: unknown) => {
      try {
        return await next(args);
      } catch (error) {
        if (error instanceof Error) {
          const service = String(context.clientName ?? "").replace(/Client$/, "");
          const command = String(context.commandName ?? "").replace(/Command$/, "");
          (error as CallError).fleetlineCall = `${service} ${command}`;
        }
        throw error;
      }
    };
  client.middlewareStack.add(middleware as never, {
    step: "initialize",
    name: "fleetlineNameFailedCalls",
  });
}

/** A positive number of seconds from the environment, or undefined when unset. */
function seconds(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0)
    fail(`${name}=${raw}: expected a number of seconds > 0`);
  return value;
}

/**
 * Polling pace. FLEETLINE_DEPLOY_POLL_SECONDS (every poll) and FLEETLINE_DEPLOY_MAX_WAIT_SECONDS
 * (give up after) exist so tests run in seconds; unset, the defaults suit a real stack.
 */
function waits(): Pick<OperationOptions, "changeSetWait" | "stackWait"> {
  const poll = seconds("FLEETLINE_DEPLOY_POLL_SECONDS");
  const maxWait = seconds("FLEETLINE_DEPLOY_MAX_WAIT_SECONDS");
  const tune = (base: WaitOptions): WaitOptions => {
    const delay = poll === undefined ? {} : { minDelay: poll, maxDelay: poll };
    const tuned = { ...base, ...delay, ...(maxWait === undefined ? {} : { maxWaitTime: maxWait }) };
    if (tuned.maxWaitTime <= tuned.minDelay) {
      fail("FLEETLINE_DEPLOY_MAX_WAIT_SECONDS must exceed the time between polls");
    }
    return tuned;
  };
  return { changeSetWait: tune(CHANGE_SET_WAIT), stackWait: tune(STACK_WAIT) };
}

/**
 * Request timeout. FLEETLINE_DEPLOY_REQUEST_TIMEOUT_SECONDS exists so a test of a silent
 * endpoint runs in seconds; unset, the defaults suit AWS.
 */
function transport(): Transport {
  const requestTimeout = seconds("FLEETLINE_DEPLOY_REQUEST_TIMEOUT_SECONDS");
  if (requestTimeout === undefined) return TRANSPORT;
  return {
    ...TRANSPORT,
    requestTimeout,
    connectionTimeout: Math.min(TRANSPORT.connectionTimeout, requestTimeout),
  };
}

function terminal(): Terminal {
  return {
    out: (text) => process.stdout.write(text),
    ask: async (question) => {
      if (!process.stdin.isTTY) {
        throw new UsageError("no terminal to ask on; pass --yes to proceed without confirmation");
      }
      const rl = createInterface({ input: process.stdin, output: process.stdout });
      try {
        return await rl.question(question);
      } finally {
        rl.close();
      }
    },
  };
}

async function main(argv: readonly string[]): Promise<number> {
  let options: CliOptions;
  try {
    options = parseCliArgs(argv);
  } catch (error) {
    if (error instanceof UsageError) fail(`${error.message}\n${USAGE}`);
    throw error;
  }

  const pieces = selectedPieces(options);
  const paths = pieces ? pieces.map(piecePath) : [templatePath];
  const templates = paths.map(readTemplate);
  let checks: Array<ParameterCheck | undefined> = templates.map(() => undefined);
  if (options.parametersFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(options.parametersFile, "utf8");
    } catch (error) {
      fail(`cannot read ${options.parametersFile}: ${(error as Error).message}`);
    }
    const parsed = parseParameterFile(text);
    let errors: string[];
    if (pieces) {
      const result = checkPieces(parsed.entries, templates);
      checks = result.checks;
      errors = result.errors;
    } else {
      const check = checkParameters(parsed.entries, templates[0]!.Parameters);
      checks = [check];
      errors = check.errors;
    }
    errors = [...parsed.errors, ...(parsed.errors.length > 0 ? [] : errors)];
    if (errors.length > 0) {
      fail(
        `${options.parametersFile}: ${errors.length} problem(s), nothing was sent to AWS:\n${errors
          .map((e) => `  - ${e}`)
          .join("\n")}`,
      );
    }
  }

  const plans: Plan[] = templates.map((template, i) =>
    buildPlan(
      options,
      relative(process.cwd(), paths[i]!) || paths[i]!,
      template,
      checks[i],
      pieces ? { entry: pieces[i]!, position: i + 1, of: pieces.length } : undefined,
    ),
  );
  if (options.dryRun) {
    process.stdout.write(plans.map((plan) => formatPlan(plan, true)).join("\n"));
    return 0;
  }

  const pace = waits();
  const limits = transport();
  const clients = await makeClients(options, limits);
  const run = options.command === "deploy" ? deployStack : destroyStack;
  try {
    for (const [i, plan] of plans.entries()) {
      if (i > 0) process.stdout.write("\n");
      process.stdout.write(formatPlan(plan, false));
      const code = await run(clients, plan, terminal(), { yes: options.yes, ...pace });
      if (code !== 0) {
        const rest = plans.slice(i + 1).map((p) => p.stackName);
        if (rest.length > 0) {
          process.stdout.write(`stopped at ${plan.stackName}; not attempted: ${rest.join(", ")}\n`);
        }
        return code;
      }
    }
    return 0;
  } catch (error) {
    if (error instanceof UsageError) fail(error.message);
    const name = error instanceof Error ? error.name : "Error";
    const message = error instanceof Error ? error.message : String(error);
    if (/CredentialsProviderError|ExpiredToken|InvalidClientTokenId/.test(name)) {
      fail(`AWS credentials: ${message} (configure them, or pass --profile)`, 1);
    }
    if (name === "TimeoutError") {
      const { fleetlineCall, $metadata } = error as CallError;
      const silence = /establish a connection/.test(message)
        ? `no connection within ${limits.connectionTimeout} s`
        : `no answer within ${limits.requestTimeout} s`;
      fail(
        `${fleetlineCall ?? "AWS"}: ${silence}, ${$metadata?.attempts ?? 1} attempt(s) ` +
          "(FLEETLINE_DEPLOY_REQUEST_TIMEOUT_SECONDS sets the limit); check the network, the region " +
          "and any AWS_ENDPOINT_URL_* setting. CloudFormation carries on with whatever it had " +
          "already started: look at the stack in the console before running this again",
        1,
      );
    }
    fail(`${name}: ${message}`, 1);
  }
}

process.exitCode = await main(process.argv.slice(2));
