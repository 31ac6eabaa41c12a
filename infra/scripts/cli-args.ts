/** Command line of `npm run deploy` / `npm run destroy` (infra/scripts/deploy.ts). Pure. */
import { PIECE_CATALOG } from "../lib/piece-catalog.js";

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
  /**
   * The layered pieces to act on instead of the one-shot template: `all` (every piece, in deploy
   * order, or in reverse for destroy), or one piece's name. @default - the one-shot template
   */
  readonly pieces?: { readonly kind: "all" } | { readonly kind: "one"; readonly name: string };
  /** With `--pieces`: roles whose bring-your-own piece replaces the default (network, data). */
  readonly existing: readonly string[];
}

export class UsageError extends Error {}

/** Names `--piece` accepts (also with the NN- prefix of the file). */
export const PIECE_NAMES: readonly string[] = PIECE_CATALOG.map((p) => p.name);
const PIECE_NAMES_HINT =
  "network (or network.existing), data (or data.existing), cache, fleet, delivery";
/** Roles that have a bring-your-own piece. */
export const EXISTING_ROLES = ["network", "data"] as const;

export const USAGE = `usage:
  npm run deploy  -- --parameters <file> [--region R] [--profile P] [--stack-name N]
                     [--template-bucket B] [--yes] [--dry-run]
  npm run destroy -- (--parameters <file> | --stack-name N) [--region R] [--profile P]
                     [--yes] [--dry-run]
  layered pieces (cloudformation/pieces/, stacks <AppName>-<EnvName>-<piece>), either command:
                     --parameters <file> (--pieces [--existing network,data] | --piece <name>)
  pieces: ${PIECE_NAMES_HINT}`;

const VALUED = new Set([
  "--parameters",
  "--region",
  "--profile",
  "--stack-name",
  "--template-bucket",
  "--piece",
  "--existing",
]);
const FLAGS = new Set(["--yes", "--dry-run", "--pieces"]);

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
  const piece = values.get("--piece");
  const all = flags.has("--pieces");
  if (piece !== undefined && all) throw new UsageError("give --piece <name> or --pieces, not both");
  let pieces: CliOptions["pieces"];
  if (all) pieces = { kind: "all" };
  if (piece !== undefined) {
    const name = piece.replace(/^\d\d-/, "").replace(/\.template\.json$/, "");
    if (!PIECE_NAMES.includes(name)) {
      throw new UsageError(
        `--piece ${JSON.stringify(piece)} is not a piece; expected ${PIECE_NAMES_HINT}`,
      );
    }
    pieces = { kind: "one", name };
  }
  const existingRaw = values.get("--existing");
  const existing = existingRaw === undefined ? [] : existingRaw.split(",").map((s) => s.trim());
  for (const role of existing) {
    if (!(EXISTING_ROLES as readonly string[]).includes(role)) {
      throw new UsageError(
        `--existing ${JSON.stringify(role)}: expected network, data or network,data`,
      );
    }
  }
  if (existingRaw !== undefined && !all) {
    throw new UsageError(
      "--existing only applies with --pieces (with --piece, name network.existing or data.existing)",
    );
  }
  if (pieces !== undefined) {
    if (stackName !== undefined) {
      throw new UsageError(
        "--stack-name does not apply to pieces: their stacks are <AppName>-<EnvName>-<piece>",
      );
    }
    if (parametersFile === undefined) {
      throw new UsageError(
        "pieces need --parameters <file>: it names their stacks (AppName, EnvName)",
      );
    }
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
    pieces,
    existing,
  };
}
