/**
 * The layered pieces deployed on paper: each committed piece template resolved as CloudFormation
 * would, in deploy order, with only the parameters it declares (taken from one parameter file, as
 * the CLI passes them) and the exports of the pieces before it (a missing one is an error).
 */
import { readFileSync } from "node:fs";
import { PIECES, type PieceDefinition } from "../../lib/pieces.js";
import {
  type CfnTemplate,
  ResolutionError,
  type ResolvedStack,
  resolveStack,
} from "./cloudformation.js";
import { AMI_PARAMETER } from "./stacks.js";

export function pieceTemplate(piece: PieceDefinition): CfnTemplate {
  return JSON.parse(
    readFileSync(new URL(`../../../cloudformation/pieces/${piece.file}`, import.meta.url), "utf8"),
  ) as CfnTemplate;
}

/** Which bring-your-own pieces replace their default. */
export interface Existing {
  readonly network?: boolean;
  readonly data?: boolean;
}

/** The pieces deployed, in order, with the bring-your-own ones in place of their default. */
export function pieceOrder(existing: Existing = {}): PieceDefinition[] {
  const replaced = new Set([
    ...(existing.network ? ["network"] : []),
    ...(existing.data ? ["data"] : []),
  ]);
  return PIECES.filter((p) =>
    p.replaces === undefined ? !replaced.has(p.name) : replaced.has(p.replaces),
  );
}

/** The values of `all` that `template` declares, as the CLI passes a piece its parameters. */
export function parametersOf(
  template: CfnTemplate,
  all: Readonly<Record<string, string>>,
): Record<string, string> {
  const declared = new Set(Object.keys(template.Parameters ?? {}));
  return Object.fromEntries(Object.entries(all).filter(([name]) => declared.has(name)));
}

export interface ResolvedPiece {
  readonly piece: PieceDefinition;
  readonly stackName: string;
  readonly stack: ResolvedStack;
  /** Export names this piece's template imports. */
  readonly imports: string[];
}

/** Export names a template imports, resolved in its own stack (they are Fn::Sub expressions). */
function importsOf(template: CfnTemplate, stack: ResolvedStack): string[] {
  const found = new Set<string>();
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node !== null && typeof node === "object") {
      for (const [key, value] of Object.entries(node)) {
        if (key === "Fn::ImportValue") found.add(String(stack.resolve(value)));
        else walk(value);
      }
    }
  };
  walk(template.Resources);
  walk(template.Outputs);
  return [...found].sort();
}

/**
 * Resolves the pieces one after the other in one account and region: each sees the exports of
 * those before it only, as CloudFormation would at its creation.
 */
export function resolvePieces(context: {
  readonly region: string;
  readonly accountId: string;
  readonly parameters: Readonly<Record<string, string>>;
  readonly existing?: Existing;
  /** @default `<AppName>-<EnvName>-<stackSuffix>`, as the CLI names them */
  readonly stackName?: (piece: PieceDefinition) => string;
}): ResolvedPiece[] {
  const exports: Record<string, string> = {};
  const out: ResolvedPiece[] = [];
  const { AppName = "fleetline", EnvName = "prod" } = context.parameters;
  for (const piece of pieceOrder(context.existing)) {
    const template = pieceTemplate(piece);
    const stackName = context.stackName?.(piece) ?? `${AppName}-${EnvName}-${piece.stackSuffix}`;
    const stack = resolveStack(template, {
      stackName,
      region: context.region,
      accountId: context.accountId,
      parameters: parametersOf(template, context.parameters),
      ssmParameters: { [AMI_PARAMETER]: "ami-0a1b2c3d4e5f60718" },
      exports: { ...exports },
    });
    for (const [name, value] of Object.entries(stack.exports)) {
      if (name in exports) throw new ResolutionError(`${piece.file}: ${name} is already exported`);
      exports[name] = value;
    }
    out.push({ piece, stackName, stack, imports: importsOf(template, stack) });
  }
  return out;
}
