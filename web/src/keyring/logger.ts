/**
 * The logging surface the key ring and its stores need. A pino logger satisfies it; tests pass a
 * recorder. Kept this small so the key ring does not depend on pino itself.
 */
export interface KeyRingLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Error messages for logs and status: `unknown` thrown values still become readable text. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

/**
 * Fallback for stores built without a logger: one JSON line on stderr, so a skipped record is
 * never silent.
 */
export const stderrLogger: KeyRingLogger = {
  info: (obj, msg) => writeLine("info", obj, msg),
  warn: (obj, msg) => writeLine("warn", obj, msg),
  error: (obj, msg) => writeLine("error", obj, msg),
};

function writeLine(level: string, obj: object, msg?: string): void {
  process.stderr.write(`${JSON.stringify({ level, time: Date.now(), ...obj, msg })}\n`);
}
