/**
 * The logging surface the local stack needs: pino-compatible (`logger.info({ ...fields }, "msg")`)
 * so a pino instance can be passed in, without making `local/` depend on pino.
 */
export interface Logger {
  debug(fields: Readonly<Record<string, unknown>>, message: string): void;
  info(fields: Readonly<Record<string, unknown>>, message: string): void;
  warn(fields: Readonly<Record<string, unknown>>, message: string): void;
  error(fields: Readonly<Record<string, unknown>>, message: string): void;
}

/** Drops everything; the default so that library users and tests are quiet unless they ask. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};

export type LogLevel = "debug" | "info" | "warn" | "error";

const rank: Readonly<Record<LogLevel, number>> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Options for {@link createLineLogger}. */
export interface LineLoggerOptions {
  /** Prefix of every line, e.g. "lb". Required. */
  readonly prefix: string;
  /** Lowest level written. Default "info". */
  readonly level?: LogLevel;
  /** Where lines go. Default process.stderr. */
  readonly write?: (line: string) => void;
}

/**
 * Human-readable one-line logs for the terminal running `npm start`: the web instances already
 * log JSON, and the supervisor's own lines should stand out from theirs.
 */
export function createLineLogger(options: LineLoggerOptions): Logger {
  const min = rank[options.level ?? "info"];
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  const log =
    (level: LogLevel) =>
    (fields: Readonly<Record<string, unknown>>, message: string): void => {
      if (rank[level] < min) return;
      const extra = Object.entries(fields)
        .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
        .join(" ");
      const tag = level === "info" ? "" : ` ${level.toUpperCase()}`;
      write(`[${options.prefix}]${tag} ${message}${extra ? ` ${extra}` : ""}\n`);
    };
  return { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };
}
