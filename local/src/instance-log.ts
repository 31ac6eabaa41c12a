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

/** Options of {@link createInstanceLogFormatter}. */
export interface InstanceLogFormatterOptions {
  /** Hide requests to this path (the load balancer's health checks). Default true. */
  readonly hideHealthChecks?: boolean;
  /** Default "/health". */
  readonly healthCheckPath?: string;
}

/** Requests seen but not completed are forgotten past this many (a crash mid-request). */
const MAX_PENDING = 1000;

/**
 * Per instance, turns Fastify's two lines per request ("incoming request", "request completed")
 * into one access-log line written when the request completes — `GET /users 200 4.1ms` — and
 * drops the load balancer's health checks (two lines per instance per second would drown the
 * rest). Every other line goes through {@link formatInstanceLine}. Returns undefined to drop.
 */
export function createInstanceLogFormatter(
  options: InstanceLogFormatterOptions = {},
): (line: string) => string | undefined {
  const hideHealth = options.hideHealthChecks ?? true;
  const healthPath = options.healthCheckPath ?? "/health";
  const pending = new Map<string, { method: string; url: string }>();
  return (line) => {
    if (!line.startsWith("{")) return line;
    let entry: Record<string, unknown>;
    try {
      entry = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return line;
    }
    const reqId = typeof entry.reqId === "string" ? entry.reqId : undefined;
    const req = entry.req as { method?: unknown; url?: unknown } | undefined;
    if (reqId && entry.msg === "incoming request" && req) {
      if (pending.size >= MAX_PENDING) {
        const oldest = pending.keys().next().value;
        if (oldest !== undefined) pending.delete(oldest);
      }
      pending.set(reqId, { method: String(req.method), url: String(req.url) });
      return undefined;
    }
    const started = reqId ? pending.get(reqId) : undefined;
    if (reqId && started && entry.msg === "request completed") {
      pending.delete(reqId);
      if (hideHealth && started.url === healthPath) return undefined;
      const { msg: _completed, ...rest } = entry;
      return formatInstanceLine(
        JSON.stringify({ ...rest, msg: "", req: { method: started.method, url: started.url } }),
      );
    }
    return formatInstanceLine(line);
  };
}

/** Options of {@link pipeInstanceLog}. */
export interface PipeInstanceLogOptions extends InstanceLogFormatterOptions {
  /** Shown as "[prefix] " before each line. Required. */
  readonly prefix: string;
  /** Receives each finished line. Required. */
  readonly write: (line: string) => void;
}

/** Writes each line of `stream` as "[prefix] formatted line". */
export function pipeInstanceLog(stream: Readable, options: PipeInstanceLogOptions): void {
  const format = createInstanceLogFormatter(options);
  const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  lines.on("line", (line) => {
    if (line.trim() === "") return;
    const formatted = format(line);
    if (formatted !== undefined) options.write(`[${options.prefix}] ${formatted}\n`);
  });
}
