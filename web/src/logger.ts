import { mkdirSync } from "node:fs";
import { join } from "node:path";
import pino, { type Logger } from "pino";

export interface LoggerOptions {
  readonly level: string;
  /** Also append JSON lines to `<dir>/web.log` (the AWS fleet ships that directory to CloudWatch). */
  readonly dir?: string | undefined;
  readonly instanceId?: string;
}

/**
 * pino to stdout, plus a file when LOG_DIR is set. multistream rather than pino transports: the
 * transports run in worker threads that load modules by name, which a single-file bundle cannot do.
 */
export function createLogger(options: LoggerOptions): Logger {
  const streams: pino.StreamEntry[] = [{ stream: process.stdout }];
  if (options.dir) {
    mkdirSync(options.dir, { recursive: true });
    streams.push({
      stream: pino.destination({ dest: join(options.dir, "web.log"), append: true, mkdir: true }),
    });
  }
  return pino(
    {
      level: options.level,
      base: options.instanceId ? { instance: options.instanceId } : {},
      redact: ["req.headers.cookie", "req.headers.authorization"],
    },
    pino.multistream(streams.map((s) => ({ ...s, level: "trace" as const }))),
  );
}
