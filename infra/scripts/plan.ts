/** What a deploy or destroy is going to do, computed and printed without any AWS call. Pure. */
import { createHash } from "node:crypto";
import { type PieceEntry, pieceStackName } from "../lib/piece-catalog.js";
import type { CliOptions } from "./cli-args.js";
import type { ParameterCheck, TemplateParameters } from "./parameter-file.js";

/** CloudFormation accepts a TemplateBody up to this size; larger templates go through S3. */
export const TEMPLATE_BODY_LIMIT = 51_200;

export interface TemplateDocument {
  readonly Parameters: TemplateParameters;
  readonly Resources: Readonly<
    Record<string, { readonly Type: string; readonly DeletionPolicy?: string }>
  >;
}

export interface RetainedResource {
  readonly logicalId: string;
  readonly type: string;
}

/** Which layered piece a plan is for, and its place in the run. */
export interface PlanPiece {
  readonly entry: PieceEntry;
  /** 1-based position in this run, and the run's length. */
  readonly position: number;
  readonly of: number;
}

export interface Plan {
  readonly command: CliOptions["command"];
  /** Set when the plan is one layered piece's. */
  readonly piece?: PlanPiece;
  readonly stackName: string;
  /** Concrete region, or undefined when the SDK will resolve it (profile, environment). */
  readonly region?: string;
  readonly profile?: string;
  readonly templatePath: string;
  /** The body sent to CloudFormation: the committed template, minified. */
  readonly templateBody: string;
  /** First 16 hex digits of the body's SHA-256: the S3 key of the upload. */
  readonly templateHash: string;
  readonly uploadToS3: boolean;
  readonly templateBucket?: string;
  readonly parametersFile?: string;
  /** Parameter values sent (deploy only), in template order. */
  readonly parameters: ReadonlyArray<{ key: string; value: string; fromDefault: boolean }>;
  /** Resources kept when the stack is deleted (DeletionPolicy Retain). */
  readonly retained: readonly RetainedResource[];
  /** Export names the template imports (a layered piece: what earlier pieces must have made). */
  readonly imports: readonly string[];
}

/**
 * Names of the exports `template` imports, for the given AppName/EnvName: the pieces import
 * `Fn::Sub "${AppName}-${EnvName}-<Key>"`, the only form this app writes (any other form throws,
 * so a new one cannot slip past the check unseen).
 */
export function importedExports(
  template: unknown,
  values: Readonly<Record<string, string>>,
): string[] {
  const found = new Set<string>();
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node !== null && typeof node === "object") {
      for (const [key, value] of Object.entries(node)) {
        if (key !== "Fn::ImportValue") {
          walk(value);
          continue;
        }
        const sub = (value as { "Fn::Sub"?: unknown })["Fn::Sub"];
        if (typeof sub !== "string") {
          throw new Error(`unexpected Fn::ImportValue argument ${JSON.stringify(value)}`);
        }
        found.add(sub.replace(/\$\{(\w+)\}/g, (_, name: string) => values[name] ?? `\${${name}}`));
      }
    }
  };
  walk(template);
  return [...found].sort();
}

export function retainedResources(template: TemplateDocument): RetainedResource[] {
  return Object.entries(template.Resources)
    .filter(([, r]) => r.DeletionPolicy === "Retain")
    .map(([logicalId, r]) => ({ logicalId, type: r.Type }));
}

export function buildPlan(
  options: CliOptions,
  templatePath: string,
  template: TemplateDocument,
  check: ParameterCheck | undefined,
  piece?: PlanPiece,
): Plan {
  const templateBody = JSON.stringify(template);
  const values = check?.values ?? {};
  const app = values.AppName ?? "fleetline";
  const env = values.EnvName ?? "prod";
  const stackName = piece
    ? pieceStackName(piece.entry, app, env)
    : (options.stackName ??
      (values.AppName !== undefined && values.EnvName !== undefined
        ? `${values.AppName}-${values.EnvName}`
        : "fleetline-prod"));
  return {
    command: options.command,
    piece,
    stackName,
    region: options.region,
    profile: options.profile,
    templatePath,
    templateBody,
    templateHash: createHash("sha256").update(templateBody).digest("hex").slice(0, 16),
    uploadToS3: Buffer.byteLength(templateBody) > TEMPLATE_BODY_LIMIT,
    templateBucket: options.templateBucket,
    parametersFile: options.parametersFile,
    parameters:
      options.command === "deploy" && check
        ? Object.keys(template.Parameters).map((key) => ({
            key,
            value: values[key] ?? "",
            fromDefault: !check.given.has(key),
          }))
        : [],
    retained: retainedResources(template),
    imports: importedExports(template, { AppName: app, EnvName: env }),
  };
}

/** The plan as printed by `--dry-run` (and before the change set in a real run). */
export function formatPlan(plan: Plan, dryRun: boolean): string {
  const lines: string[] = [];
  const piece = plan.piece
    ? `: piece ${plan.piece.position} of ${plan.piece.of}, ${plan.piece.entry.file.replace(".template.json", "")}`
    : "";
  lines.push(`fleetline ${plan.command}${piece}${dryRun ? " (dry run: no AWS calls)" : ""}`);
  lines.push(`  stack        ${plan.stackName}`);
  lines.push(`  region       ${plan.region ?? "from AWS_REGION or the profile's configuration"}`);
  lines.push(
    `  credentials  ${plan.profile ? `profile ${plan.profile}` : "the default AWS credential chain"}`,
  );
  if (plan.command === "deploy") {
    const size = Buffer.byteLength(plan.templateBody);
    lines.push(
      `  template     ${plan.templatePath} (${size} bytes minified, sha256 ${plan.templateHash})`,
    );
    lines.push(`  parameters   ${plan.parametersFile}`);
    const width = Math.max(...plan.parameters.map((p) => p.key.length));
    for (const p of plan.parameters) {
      const shown = p.value === "" ? '""' : p.value;
      lines.push(`    ${p.key.padEnd(width)}  ${shown}${p.fromDefault ? "  (default)" : ""}`);
    }
    const bucket = plan.templateBucket ?? "fleetline-templates-<account>-<region>";
    lines.push("  steps");
    lines.push(
      "    1. describe the stack: one that is busy (*_IN_PROGRESS) or failed (ROLLBACK_COMPLETE, *_FAILED)",
      "       is refused with its failed events (exit 1); then look up the account (sts:GetCallerIdentity)",
    );
    if (plan.uploadToS3) {
      lines.push(
        `    2. upload the template to s3://${bucket}/${plan.stackName}/${plan.templateHash}.json`,
        `       (over ${TEMPLATE_BODY_LIMIT} bytes, CloudFormation reads it from S3${plan.templateBucket ? "" : "; bucket created if missing"})`,
      );
    } else {
      lines.push(`    2. send the template inline (under the ${TEMPLATE_BODY_LIMIT}-byte limit)`);
    }
    lines.push(
      "    3. create a change set (CREATE or UPDATE) with CAPABILITY_IAM and list its changes",
    );
    lines.push("    4. ask before executing it (--yes skips the question)");
    lines.push(
      "    5. stream stack events until the stack settles; print the outputs, or the failed events (exit 1)",
    );
  } else {
    lines.push("  steps");
    lines.push(
      "    1. describe the stack (a busy one is refused); refuse if another stack still imports one of",
      "       its exports (ListImports), naming it; list what it retains",
    );
    lines.push("    2. ask you to type the stack name (--yes skips the question)");
    lines.push(
      "    3. delete the stack and stream its events until it is gone (failed events and exit 1 if not)",
    );
  }
  if (plan.command === "deploy" && plan.imports.length > 0) {
    lines.push(
      "  imports      exports of the pieces before it (checked with ListExports before the change set)",
    );
    for (const name of plan.imports) lines.push(`    ${name}`);
  }
  lines.push("  retained when the stack is deleted (remove by hand if wanted)");
  for (const r of plan.retained) lines.push(`    ${r.logicalId} (${r.type})`);
  if (plan.retained.length === 0) lines.push("    nothing");
  return `${lines.join("\n")}\n`;
}
