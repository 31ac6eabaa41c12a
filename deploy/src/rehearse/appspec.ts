// The parts of an AppSpec file (EC2/on-premises, version 0.0) the CodeDeploy agent acts on:
// `files` for the Install event and the scripts of each lifecycle event with their timeouts.
import { join } from "node:path";
import { isMapping, readYamlMapping } from "./yaml-document.js";

export interface AppspecFile {
  readonly source: string;
  readonly destination: string;
}

export interface AppspecHook {
  readonly location: string;
  /** Seconds before the agent gives up on the script; the agent's default is 3600. */
  readonly timeoutSeconds: number;
  readonly runas?: string;
}

export interface Appspec {
  readonly files: readonly AppspecFile[];
  readonly fileExistsBehavior: "DISALLOW" | "OVERWRITE" | "RETAIN";
  readonly hooks: Readonly<Record<string, readonly AppspecHook[]>>;
}

export function readAppspec(bundleDir: string): Appspec {
  const file = join(bundleDir, "appspec.yml");
  const doc = readYamlMapping(file);
  if (String(doc.version) !== "0" && String(doc.version) !== "0.0") {
    throw new Error(`${file}: version must be 0.0`);
  }
  const files = (Array.isArray(doc.files) ? doc.files : []).map((entry: unknown, i) => {
    if (
      !isMapping(entry) ||
      typeof entry.source !== "string" ||
      typeof entry.destination !== "string"
    ) {
      throw new Error(`${file}: files[${i}] needs a source and a destination`);
    }
    return { source: entry.source, destination: entry.destination };
  });
  const behavior = String(doc.file_exists_behavior ?? "DISALLOW").toUpperCase();
  if (behavior !== "DISALLOW" && behavior !== "OVERWRITE" && behavior !== "RETAIN") {
    throw new Error(`${file}: file_exists_behavior must be DISALLOW, OVERWRITE or RETAIN`);
  }
  const hooks: Record<string, AppspecHook[]> = {};
  const hooksDoc = isMapping(doc.hooks) ? doc.hooks : {};
  for (const [event, list] of Object.entries(hooksDoc)) {
    if (!Array.isArray(list)) throw new Error(`${file}: hooks.${event} must be a list`);
    hooks[event] = list.map((hook: unknown, i) => {
      if (!isMapping(hook) || typeof hook.location !== "string") {
        throw new Error(`${file}: hooks.${event}[${i}] needs a location`);
      }
      return {
        location: hook.location,
        timeoutSeconds: hook.timeout === undefined ? 3600 : Number(hook.timeout),
        ...(typeof hook.runas === "string" ? { runas: hook.runas } : {}),
      };
    });
  }
  return { files, fileExistsBehavior: behavior, hooks };
}
