// The parts of an AppSpec file (EC2/on-premises, version 0.0) the CodeDeploy agent acts on, read
// and validated as the agent (1.8.1) does, so a bundle the rehearsal accepts is one EC2 accepts:
// `version` the number 0.0, `os: linux`, `file_exists_behavior` in upper case, hook timeouts as
// whole seconds (default 3600, 0 or less refused), an empty hook entry ignored, `files` for the
// Install event and `permissions` applied after it. Event names are checked at Install
// (`unknownHookEvents`), where the agent refuses them.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { lifecycleEvents } from "./lifecycle.js";
import { isMapping, readYamlMapping } from "./yaml-document.js";

export interface AppspecFile {
  readonly source: string;
  readonly destination: string;
}

export interface AppspecHook {
  readonly location: string;
  /** Whole seconds before the agent gives up on the script; the agent's default is 3600. */
  readonly timeoutSeconds: number;
  /** The user the agent runs the script as (`su USER -c`); none: the agent's own user. */
  readonly runas?: string;
}

export interface AppspecPermission {
  /** A path on the instance (after Install). */
  readonly object: string;
  /** Glob over the names below `object`; "**" (everything) when absent. */
  readonly pattern: string;
  readonly except: readonly string[];
  readonly type: ReadonlyArray<"file" | "directory">;
  readonly owner?: string;
  readonly group?: string;
  /** Octal mode, e.g. 0o640. */
  readonly mode?: number;
}

export interface Appspec {
  /** The file it was read from (appspec.yml, or appspec.yaml when that is the only one). */
  readonly file: string;
  readonly files: readonly AppspecFile[];
  readonly fileExistsBehavior: "DISALLOW" | "OVERWRITE" | "RETAIN";
  readonly hooks: Readonly<Record<string, readonly AppspecHook[]>>;
  readonly permissions: readonly AppspecPermission[];
}

/** The agent's validation error: the deployment fails at the event that read the file. */
export class AppspecError extends Error {
  override readonly name = "AppspecError";
}

/** appspec.yml, else appspec.yaml, at the bundle's root (the agent looks for both). */
export function appspecPath(bundleDir: string): string {
  const yml = join(bundleDir, "appspec.yml");
  if (existsSync(yml)) return yml;
  const yaml = join(bundleDir, "appspec.yaml");
  if (existsSync(yaml)) return yaml;
  throw new AppspecError(`${bundleDir}: no appspec.yml or appspec.yaml at the root of the bundle`);
}

/** Ruby's String#to_i, which the agent applies to `timeout`: leading digits, else 0. */
function rubyToI(value: unknown): number {
  if (typeof value === "number") return Math.trunc(value);
  const match = /^\s*([+-]?\d+)/.exec(String(value));
  return match?.[1] ? Number.parseInt(match[1], 10) : 0;
}

function hookList(file: string, event: string, list: unknown): AppspecHook[] {
  // `ApplicationStop:` with nothing under it: the agent skips the event.
  if (list === null || list === undefined) return [];
  if (!Array.isArray(list)) throw new AppspecError(`${file}: hooks.${event} must be a list`);
  return list.map((hook: unknown, i) => {
    if (!isMapping(hook) || hook.location === undefined || hook.location === null) {
      throw new AppspecError(
        `${file}: hooks.${event}[${i}]: the application specification file specifies a script with no location value`,
      );
    }
    const location = String(hook.location).trim();
    if (location === "") {
      throw new AppspecError(`${file}: hooks.${event}[${i}]: empty location`);
    }
    const timeoutSeconds =
      hook.timeout === undefined || hook.timeout === null ? 3600 : rubyToI(hook.timeout);
    if (timeoutSeconds <= 0) {
      throw new AppspecError(
        `${file}: hooks.${event}[${i}]: an invalid timeout value (${String(hook.timeout)}) was provided; it must be a positive number of seconds`,
      );
    }
    const runas = hook.runas === undefined || hook.runas === null ? "" : String(hook.runas).trim();
    return { location, timeoutSeconds, ...(runas ? { runas } : {}) };
  });
}

function permissionList(file: string, value: unknown): AppspecPermission[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new AppspecError(`${file}: permissions must be a list`);
  return value.map((entry: unknown, i) => {
    const where = `${file}: permissions[${i}]`;
    if (!isMapping(entry) || entry.object === undefined || entry.object === null) {
      throw new AppspecError(`${where}: a permission has no object value`);
    }
    const type =
      entry.type === undefined || entry.type === null ? ["file", "directory"] : entry.type;
    if (!Array.isArray(type) || type.some((t) => t !== "file" && t !== "directory")) {
      throw new AppspecError(
        `${where}: type lists file and/or directory (got ${JSON.stringify(type)})`,
      );
    }
    let mode: number | undefined;
    if (entry.mode !== undefined && entry.mode !== null) {
      // YAML reads `mode: 640` as the number 640: its digits are the octal mode.
      const digits = String(entry.mode);
      if (!/^[0-7]{3,4}$/.test(digits))
        throw new AppspecError(`${where}: mode ${digits} is not an octal mode`);
      mode = Number.parseInt(digits, 8);
    }
    const except = entry.except === undefined || entry.except === null ? [] : entry.except;
    if (!Array.isArray(except)) throw new AppspecError(`${where}: except must be a list`);
    return {
      object: String(entry.object).trim(),
      pattern: entry.pattern === undefined || entry.pattern === null ? "**" : String(entry.pattern),
      except: except.map(String),
      type: type as Array<"file" | "directory">,
      ...(entry.owner !== undefined && entry.owner !== null ? { owner: String(entry.owner) } : {}),
      ...(entry.group !== undefined && entry.group !== null ? { group: String(entry.group) } : {}),
      ...(mode !== undefined ? { mode } : {}),
    };
  });
}

export function readAppspec(bundleDir: string): Appspec {
  const file = appspecPath(bundleDir);
  const doc = readYamlMapping(file);
  // The agent compares with the Ruby number 0.0: `version: 0.0` (YAML reads a float) passes,
  // `version: "0.0"` does not.
  if (typeof doc.version !== "number" || doc.version !== 0) {
    throw new AppspecError(
      `${file}: an invalid version value (${JSON.stringify(doc.version)}) was entered; the version must be 0.0, unquoted`,
    );
  }
  if (doc.os !== "linux") {
    throw new AppspecError(
      `${file}: the application specification file specifies an unsupported operating system (${JSON.stringify(doc.os)}); linux instances need os: linux`,
    );
  }
  const files = (Array.isArray(doc.files) ? doc.files : []).map((entry: unknown, i) => {
    if (
      !isMapping(entry) ||
      typeof entry.source !== "string" ||
      typeof entry.destination !== "string"
    ) {
      throw new AppspecError(`${file}: files[${i}] needs a source and a destination`);
    }
    return { source: entry.source, destination: entry.destination };
  });
  const behavior = doc.file_exists_behavior ?? "DISALLOW";
  if (behavior !== "DISALLOW" && behavior !== "OVERWRITE" && behavior !== "RETAIN") {
    throw new AppspecError(
      `${file}: file_exists_behavior must be DISALLOW, OVERWRITE or RETAIN, in upper case (got ${JSON.stringify(behavior)})`,
    );
  }
  const hooks: Record<string, AppspecHook[]> = {};
  if (doc.hooks !== undefined && doc.hooks !== null && !isMapping(doc.hooks)) {
    throw new AppspecError(`${file}: hooks must be a mapping of event names to lists`);
  }
  for (const [event, list] of Object.entries(isMapping(doc.hooks) ? doc.hooks : {})) {
    hooks[event] = hookList(file, event, list);
  }
  return {
    file,
    files,
    fileExistsBehavior: behavior,
    hooks,
    permissions: permissionList(file, doc.permissions),
  };
}

const scriptEvents = new Set<string>(
  lifecycleEvents.filter((e) => e.by === "script").map((e) => e.name),
);

/** Hook names that are no lifecycle event a script may run at; the agent fails Install on them. */
export function unknownHookEvents(spec: Appspec): string[] {
  return Object.keys(spec.hooks).filter((event) => !scriptEvents.has(event));
}
