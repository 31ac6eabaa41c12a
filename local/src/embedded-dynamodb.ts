import { mkdirSync } from "node:fs";
import type { AddressInfo, Socket } from "node:net";
import dynalite from "dynalite";

/** Options of {@link startEmbeddedDynamoDb}. */
export interface EmbeddedDynamoDbOptions {
  /** LevelDB directory for the tables; omitted means in memory (lost on stop). */
  readonly dataDir?: string;
  /** Port to listen on; 0 (the default) picks a free one. */
  readonly port?: number;
  /** Default "127.0.0.1": nothing outside this machine should reach it. */
  readonly host?: string;
}

export interface EmbeddedDynamoDb {
  /** e.g. http://127.0.0.1:41234, the web's DYNAMODB_ENDPOINT. */
  readonly endpoint: string;
  readonly port: number;
  /** Closes connections and the LevelDB store (so its lock is released for the next start). */
  stop(): Promise<void>;
}

/**
 * dynalite in this process: it speaks the DynamoDB wire protocol, so the web's AWS SDK client
 * runs unchanged against it, and needs neither Java nor Docker (DynamoDB Local needs one).
 */
export async function startEmbeddedDynamoDb(
  options: EmbeddedDynamoDbOptions = {},
): Promise<EmbeddedDynamoDb> {
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  // Tables become ACTIVE at once instead of after dynalite's simulated 500 ms.
  const server = dynalite({
    ...(options.dataDir ? { path: options.dataDir } : {}),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  const sockets = new Set<Socket>();
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  let stopping: Promise<void> | undefined;
  return {
    endpoint: `http://${host}:${port}`,
    port,
    stop() {
      stopping ??= new Promise<void>((resolve) => {
        // dynalite's close() also closes LevelDB, but waits for keep-alive clients to leave.
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
      return stopping;
    },
  };
}
