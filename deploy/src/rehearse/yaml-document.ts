// Reads a YAML file into a plain object, with a message that names the file when it is not one.
import { readFileSync } from "node:fs";
import { parse } from "yaml";

export type Mapping = Readonly<Record<string, unknown>>;

export function isMapping(value: unknown): value is Mapping {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function readYamlMapping(file: string): Mapping {
  const document: unknown = parse(readFileSync(file, "utf8"));
  if (!isMapping(document)) throw new Error(`${file}: expected a YAML mapping at the top level`);
  return document;
}

export function stringList(value: unknown, where: string): readonly string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((item) => typeof item !== "string")) {
    throw new Error(`${where}: expected a list of strings`);
  }
  return value as string[];
}
