import { createInterface } from "node:readline";
import type { Readable } from "node:stream";

const levels: Readonly<Record<number, string>> = {
  10: "TRACE",
  20: "DEBUG",
  30: "INFO",
  40: "WARN",
  50: "ERROR",
  60: "FATAL",
};

/**
 * One pino JSON line made readable in a terminal shared by several instances: time, level,
 * message and the request fields people look for. Anything that is not pino JSON (a stack
 * trace, a tsx error) is passed through untouched so nothing is lost.
 */
export function formatInstanceLine(line: string): string {
  if (!line.startsWith("{")) return line;
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const time =
    typeof entry.time === "number" ? new Date(entry.time).toISOString().slice(11, 23) : "";
  const level = typeof entry.level === "number" ? (levels[entry.level] ?? String(entry.level)) : "";
  const parts = [time, level, typeof entry.msg === "string" ? entry.msg : ""];
  const req = entry.req as { method?: unknown; url?: unknown } | undefined;
  const res = entry.res as { statusCode?: unknown } | undefined;
  if (req && typeof req.method === "string") parts.push(`${req.method} ${String(req.url)}`);
  if (res && typeof res.statusCode === "number") parts.push(String(res.statusCode));
  if (typeof entry.responseTime === "number") parts.push(`${entry.responseTime.toFixed(1)}ms`);
  const err = entry.err as { message?: unknown } | undefined;
  if (err && typeof err.message === "string") parts.push(`error=${err.message}`);
  return parts.filter((p) => p !== "").join(" ");
}

/**
 * Drops the request log lines of load-balancer health checks (one "incoming" and one
 * "completed" per instance every interval): they would drown everything else in the terminal.
 * Stateful: remembers the request ids of health checks until their completion line.
 */
export function createHealthCheckFilter(path = "/health"): (line: string) => boolean {
  const pending = new Set<string>();
  return (line) => {
    if (!line.startsWith("{")) return true;
    // Most lines are neither a health check nor the end of one: skip parsing them.
    if (pending.size === 0 && !line.includes(path)) return true;
    let entry: { reqId?: unknown; req?: { url?: unknown } };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      return true;
    }
    const id = typeof entry.reqId === "string" ? entry.reqId : undefined;
    if (entry.req?.url === path) {
      if (id) pending.add(id);
      return false;
    }
    if (id && pending.has(id)) {
      pending.delete(id);
      return false;
    }
    return true;
  };
}

/** Options of {@link pipeInstanceLog}. */
export interface PipeInstanceLogOptions {
  /** Shown as "[prefix] " before each line. Required. */
  readonly prefix: string;
  /** Receives each finished line. Required. */
  readonly write: (line: string) => void;
  /** Hide the request logs of GET /health. Default true. */
  readonly hideHealthChecks?: boolean;
}

/** Writes each line of `stream` as "[prefix] formatted line". */
export function pipeInstanceLog(stream: Readable, options: PipeInstanceLogOptions): void {
  const keep = options.hideHealthChecks === false ? () => true : createHealthCheckFilter();
  const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  lines.on("line", (line) => {
    if (line.trim() === "" || !keep(line)) return;
    options.write(`[${options.prefix}] ${formatInstanceLine(line)}\n`);
  });
}
