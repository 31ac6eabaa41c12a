/**
 * The layered pieces as files and stacks, without the CDK: what the deploy CLI needs to find,
 * order and name them (lib/pieces.ts adds what each one builds). Pure data.
 */

export interface PieceEntry {
  /** File name under cloudformation/pieces/. */
  readonly file: string;
  /** `--piece` name. */
  readonly name: string;
  /** Last part of the stack name, `<AppName>-<EnvName>-<stackSuffix>`: a bring-your-own piece
   * shares its default's, since it plays the same part in the order. */
  readonly stackSuffix: string;
  /** Construct id of its stack in the pieces app (synth time only). */
  readonly stackId: string;
  /** Set on a bring-your-own piece: the name of the piece it replaces. */
  readonly replaces?: string;
}

/** Every piece, in deploy order; a bring-your-own piece follows the piece it replaces. */
export const PIECE_CATALOG: readonly PieceEntry[] = [
  {
    file: "01-network.template.json",
    name: "network",
    stackSuffix: "network",
    stackId: "FleetlineNetwork",
  },
  {
    file: "01-network.existing.template.json",
    name: "network.existing",
    stackSuffix: "network",
    stackId: "FleetlineNetworkExisting",
    replaces: "network",
  },
  { file: "02-data.template.json", name: "data", stackSuffix: "data", stackId: "FleetlineData" },
  {
    file: "02-data.existing.template.json",
    name: "data.existing",
    stackSuffix: "data",
    stackId: "FleetlineDataExisting",
    replaces: "data",
  },
  {
    file: "03-cache.template.json",
    name: "cache",
    stackSuffix: "cache",
    stackId: "FleetlineCache",
  },
  {
    file: "04-fleet.template.json",
    name: "fleet",
    stackSuffix: "fleet",
    stackId: "FleetlineFleet",
  },
  {
    file: "05-delivery.template.json",
    name: "delivery",
    stackSuffix: "delivery",
    stackId: "FleetlineDelivery",
  },
];

/** The catalog entry named `name`; throws on an unknown name. */
export function pieceEntry(name: string): PieceEntry {
  const entry = PIECE_CATALOG.find((p) => p.name === name);
  if (!entry) throw new Error(`no piece named ${name}`);
  return entry;
}

/**
 * The pieces a full deployment runs, in deploy order: every default piece, except those whose
 * role is in `existing` ("network", "data"), which their bring-your-own piece replaces.
 */
export function piecesInOrder(existing: readonly string[] = []): PieceEntry[] {
  return PIECE_CATALOG.filter((p) =>
    p.replaces === undefined ? !existing.includes(p.name) : existing.includes(p.replaces),
  );
}

/** `<AppName>-<EnvName>-<suffix>`, the stack name of a piece. */
export function pieceStackName(entry: PieceEntry, appName: string, envName: string): string {
  return `${appName}-${envName}-${entry.stackSuffix}`;
}
