// The parts of a CodeBuild buildspec (version 0.2) the rehearsal executes: variables, the four
// phases in order, artifacts and reports. Anything else in the file is ignored, as a local run
// has no use for it (runtime-versions: the local node is used and reported).
import { isMapping, type Mapping, readYamlMapping, stringList } from "./yaml-document.js";

export const phaseOrder = ["install", "pre_build", "build", "post_build"] as const;
export type PhaseName = (typeof phaseOrder)[number];

export interface Phase {
  readonly name: PhaseName;
  readonly commands: readonly string[];
  readonly finally: readonly string[];
  readonly runtimeVersions: Readonly<Record<string, string>>;
}

export interface ArtifactsSpec {
  /** Folder the `files` patterns are relative to; "" when the buildspec sets none. */
  readonly baseDirectory: string;
  readonly files: readonly string[];
  readonly discardPaths: boolean;
  readonly exclude: readonly string[];
}

export interface ReportSpec {
  readonly name: string;
  readonly baseDirectory: string;
  readonly files: readonly string[];
  readonly format: string;
}

export interface Buildspec {
  readonly shell: string;
  readonly variables: Readonly<Record<string, string>>;
  readonly phases: readonly Phase[];
  readonly artifacts: ArtifactsSpec;
  readonly reports: readonly ReportSpec[];
}

function mapping(value: unknown, where: string): Mapping {
  if (value === undefined || value === null) return {};
  if (!isMapping(value)) throw new Error(`${where}: expected a mapping`);
  return value;
}

function scalarRecord(value: unknown, where: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, item] of Object.entries(mapping(value, where))) out[key] = String(item);
  return out;
}

export function parseBuildspec(file: string): Buildspec {
  const doc = readYamlMapping(file);
  if (String(doc.version) !== "0.2")
    throw new Error(`${file}: only buildspec version 0.2 is rehearsed`);
  const env = mapping(doc.env, `${file} env`);
  const phasesDoc = mapping(doc.phases, `${file} phases`);
  const phases = phaseOrder.flatMap((name): Phase[] => {
    if (phasesDoc[name] === undefined) return [];
    const phase = mapping(phasesDoc[name], `${file} phases.${name}`);
    return [
      {
        name,
        commands: stringList(phase.commands, `${file} phases.${name}.commands`),
        finally: stringList(phase.finally, `${file} phases.${name}.finally`),
        runtimeVersions: scalarRecord(phase["runtime-versions"], `${file} runtime-versions`),
      },
    ];
  });
  const artifacts = mapping(doc.artifacts, `${file} artifacts`);
  const reports = Object.entries(mapping(doc.reports, `${file} reports`)).map(([name, spec]) => {
    const report = mapping(spec, `${file} reports.${name}`);
    return {
      name,
      baseDirectory: String(report["base-directory"] ?? ""),
      files: stringList(report.files, `${file} reports.${name}.files`),
      format: String(report["file-format"] ?? "JUNITXML"),
    };
  });
  return {
    shell: String(env.shell ?? "bash"),
    variables: scalarRecord(env.variables, `${file} env.variables`),
    phases,
    artifacts: {
      baseDirectory: String(artifacts["base-directory"] ?? ""),
      files: stringList(artifacts.files, `${file} artifacts.files`),
      discardPaths: artifacts["discard-paths"] === true || artifacts["discard-paths"] === "yes",
      exclude: stringList(artifacts["exclude-paths"], `${file} artifacts.exclude-paths`),
    },
    reports,
  };
}
