/**
 * `npm run deploy` / `npm run destroy`: replaces the original's Windows-only aws-cli-deploy.bat.
 * Validates the parameter file locally, then (unless --dry-run) drives CloudFormation through
 * cloudformation-ops.ts. See infra/README.md.
 */
import { readFileSync } from "node:fs";
import { relative, resolve } from "node:path";
import { createInterface } from "node:readline/promises";
import { fileURLToPath } from "node:url";
import { checkParameters, type ParameterCheck, parseParameterFile } from "../lib/parameter-file.js";
import { type CliOptions, parseCliArgs, USAGE, UsageError } from "./cli-args.js";
import { type AwsClients, deployStack, destroyStack, type Terminal } from "./cloudformation-ops.js";
import { buildPlan, formatPlan, type TemplateDocument } from "./plan.js";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const templatePath = resolve(repoRoot, "cloudformation/fleetline.template.json");

function fail(message: string, code = 2): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

async function makeClients(options: CliOptions): Promise<AwsClients> {
  // Imported here so --dry-run and validation never load (or configure) the SDK.
  const [{ CloudFormationClient }, { S3Client }, { STSClient }, { ElasticLoadBalancingV2Client }] =
    await Promise.all([
      import("@aws-sdk/client-cloudformation"),
      import("@aws-sdk/client-s3"),
      import("@aws-sdk/client-sts"),
      import("@aws-sdk/client-elastic-load-balancing-v2"),
    ]);
  const config = { region: options.region, profile: options.profile };
  const cloudformation = new CloudFormationClient(config);
  return {
    cloudformation,
    s3: new S3Client(config),
    sts: new STSClient(config),
    elbv2: new ElasticLoadBalancingV2Client(config),
    region: () => cloudformation.config.region(),
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
    sleep: (ms) => new Promise((done) => setTimeout(done, ms)),
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

  const template = JSON.parse(readFileSync(templatePath, "utf8")) as TemplateDocument;
  let check: ParameterCheck | undefined;
  if (options.parametersFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(options.parametersFile, "utf8");
    } catch (error) {
      fail(`cannot read ${options.parametersFile}: ${(error as Error).message}`);
    }
    const parsed = parseParameterFile(text);
    check = checkParameters(parsed.entries, template.Parameters);
    const errors = [...parsed.errors, ...(parsed.errors.length > 0 ? [] : check.errors)];
    if (errors.length > 0) {
      fail(
        `${options.parametersFile}: ${errors.length} problem(s), nothing was sent to AWS:\n${errors
          .map((e) => `  - ${e}`)
          .join("\n")}`,
      );
    }
  }

  const plan = buildPlan(
    options,
    relative(process.cwd(), templatePath) || templatePath,
    template,
    check,
  );
  process.stdout.write(formatPlan(plan, options.dryRun));
  if (options.dryRun) return 0;

  const clients = await makeClients(options);
  const run = options.command === "deploy" ? deployStack : destroyStack;
  try {
    return await run(clients, plan, terminal(), { yes: options.yes });
  } catch (error) {
    if (error instanceof UsageError) fail(error.message);
    const name = error instanceof Error ? error.name : "Error";
    const message = error instanceof Error ? error.message : String(error);
    if (/CredentialsProviderError|ExpiredToken|InvalidClientTokenId/.test(name)) {
      fail(`AWS credentials: ${message} (configure them, or pass --profile)`, 1);
    }
    fail(`${name}: ${message}`, 1);
  }
}

process.exitCode = await main(process.argv.slice(2));
