/** Command line of `npm run deploy` / `npm run destroy` (infra/scripts/deploy.ts). Pure. */

export type Command = "deploy" | "destroy";

export interface CliOptions {
  readonly command: Command;
  /** Parameter file (required for deploy; for destroy it only names the stack). */
  readonly parametersFile?: string;
  /** @default - the SDK's region chain (AWS_REGION, the profile's region) */
  readonly region?: string;
  /** @default - the SDK's credential chain */
  readonly profile?: string;
  /** @default `<AppName>-<EnvName>` from the parameter file */
  readonly stackName?: string;
  /** Bucket that receives the template (CloudFormation takes bodies over 51,200 bytes only from S3).
   * @default `fleetline-templates-<account>-<region>`, created if missing */
  readonly templateBucket?: string;
  /** Apply without asking. */
  readonly yes: boolean;
  /** Print the plan and stop: no AWS call at all. */
  readonly dryRun: boolean;
}

export class UsageError extends Error {}

export const USAGE = `usage:
  npm run deploy  -- --parameters <file> [--region R] [--profile P] [--stack-name N]
                     [--template-bucket B] [--yes] [--dry-run]
  npm run destroy -- (--parameters <file> | --stack-name N) [--region R] [--profile P]
                     [--yes] [--dry-run]`;

const VALUED = new Set([
  "--parameters",
  "--region",
  "--profile",
  "--stack-name",
  "--template-bucket",
]);
const FLAGS = new Set(["--yes", "--dry-run"]);

/** Parses `deploy|destroy` and its options; throws UsageError saying exactly what is wrong. */
export function parseCliArgs(argv: readonly string[]): CliOptions {
  const [command, ...rest] = argv;
  if (command !== "deploy" && command !== "destroy") {
    throw new UsageError(
      `first argument must be deploy or destroy, got ${command === undefined ? "nothing" : JSON.stringify(command)}`,
    );
  }
  const values = new Map<string, string>();
  const flags = new Set<string>();
  for (let i = 0; i < rest.length; i++) {
    const raw = rest[i]!;
    const [name, inline] = raw.includes("=")
      ? [raw.slice(0, raw.indexOf("=")), raw.slice(raw.indexOf("=") + 1)]
      : [raw, undefined];
    if (FLAGS.has(name)) {
      if (inline !== undefined) throw new UsageError(`${name} takes no value`);
      flags.add(name);
    } else if (VALUED.has(name)) {
      const value = inline ?? rest[++i];
      if (value === undefined || value === "" || (inline === undefined && value.startsWith("--"))) {
        throw new UsageError(`${name} needs a value`);
      }
      if (values.has(name)) throw new UsageError(`${name} given twice`);
      values.set(name, value);
    } else {
      throw new UsageError(`unknown option ${JSON.stringify(raw)}`);
    }
  }
  const region = values.get("--region");
  if (region !== undefined && !/^[a-z]{2}(-[a-z]+)+-\d$/.test(region)) {
    throw new UsageError(
      `--region ${JSON.stringify(region)} is not a region name such as eu-west-3`,
    );
  }
  const stackName = values.get("--stack-name");
  if (stackName !== undefined && !/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(stackName)) {
    throw new UsageError(
      `--stack-name ${JSON.stringify(stackName)} is not a stack name (letters, digits, '-', starting with a letter)`,
    );
  }
  const parametersFile = values.get("--parameters");
  if (command === "deploy" && parametersFile === undefined) {
    throw new UsageError(
      "deploy needs --parameters <file> (see cloudformation/parameters.example.json)",
    );
  }
  if (command === "destroy" && parametersFile === undefined && stackName === undefined) {
    throw new UsageError("destroy needs --parameters <file> or --stack-name <name>");
  }
  if (command === "destroy" && values.has("--template-bucket")) {
    throw new UsageError("--template-bucket only applies to deploy");
  }
  return {
    command,
    parametersFile,
    region,
    profile: values.get("--profile"),
    stackName,
    templateBucket: values.get("--template-bucket"),
    yes: flags.has("--yes"),
    dryRun: flags.has("--dry-run"),
  };
}
