import { join } from "node:path";
import pino, { type Logger } from "pino";

export interface LoggerOptions {
  readonly level: string;
  /**
   * Write JSON lines to `<dir>/web.log` (the AWS fleet ships that directory to CloudWatch)
   * instead of stdout.
   */
  readonly dir?: string | undefined;
  readonly instanceId?: string;
}

type Destination = ReturnType<typeof pino.destination>;
const destinations = new WeakMap<Logger, Destination>();

/**
 * pino to one destination: `<LOG_DIR>/web.log` when LOG_DIR is set (EC2), else stdout (the
 * local stack reads it). Not both: on EC2 stdout goes to journald, which rsyslog copies to
 * /var/log/messages, which the CloudWatch agent ships as well — each line paid for three times.
 *
 * Asynchronous (`sync: false`): write(2) runs on libuv's thread pool, and lines logged while a
 * write is in flight go out together in the next one, so a burst of lines neither blocks the
 * event loop nor costs a system call each. pino flushes the stream synchronously if the process
 * exits without {@link closeLogger}. Not a worker transport: those load their targets by module
 * name in a thread, which a single-file bundle cannot do.
 */
export function createLogger(options: LoggerOptions): Logger {
  const destination = options.dir
    ? pino.destination({
        dest: join(options.dir, "web.log"),
        append: true,
        mkdir: true,
        sync: false,
      })
    : pino.destination({ dest: 1, sync: false });
  const logger = pino(
    {
      level: options.level,
      base: options.instanceId ? { instance: options.instanceId } : {},
      redact: ["req.headers.cookie", "req.headers.authorization"],
    },
    destination,
  );
  destinations.set(logger, destination);
  return logger;
}

/**
 * Writes out every buffered line and closes the destination; the last thing before exit.
 * (`logger.flush()` does not wait for a write already in flight when lines are not held back
 * by `minLength`, so it cannot say when everything is on disk; `end()` does.)
 */
export async function closeLogger(logger: Logger): Promise<void> {
  const destination = destinations.get(logger);
  if (!destination) return;
  destinations.delete(logger);
  await new Promise<void>((resolve) => {
    destination.once("close", () => resolve());
    destination.once("error", (error: Error) => {
      // A failed write cannot be logged anywhere better: say it where journald sees it.
      process.stderr.write(`fleetline web: writing the log failed: ${error.message}\n`);
      resolve();
    });
    destination.end();
  });
}
