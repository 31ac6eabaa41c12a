import { createHash } from "node:crypto";
import {
  type Agent,
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  request,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { TestContext } from "node:test";

/** A real HTTP server on a free port, closed (with its connections) when the test ends. */
export interface TestServer {
  readonly server: Server;
  readonly port: number;
  /** Connections accepted so far, to check keep-alive reuse. */
  readonly connections: () => number;
  /** Stops listening and cuts every open connection. */
  readonly kill: () => Promise<void>;
}

export async function startServer(
  t: TestContext,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<TestServer> {
  const server = createServer({ keepAliveTimeout: 65_000 }, handler);
  const sockets = new Set<Socket>();
  let accepted = 0;
  server.on("connection", (s: Socket) => {
    accepted += 1;
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const kill = async () => {
    const closed = new Promise<void>((resolve) => {
      if (!server.listening) resolve();
      else server.close(() => resolve());
    });
    for (const s of sockets) s.destroy();
    await closed;
  };
  t.after(kill);
  return { server, port, connections: () => accepted, kill };
}

export interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface SendOptions {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: Buffer | string;
  readonly agent?: Agent | false;
}

/** One request through node:http, body collected; rejects if the connection breaks. */
export function send(port: number, path: string, options: SendOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path,
        method: options.method ?? "GET",
        headers: options.headers,
        agent: options.agent ?? false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
          }),
        );
        res.on("error", reject);
        res.on("aborted", () => reject(new Error("response aborted")));
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

export function sha256(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}
