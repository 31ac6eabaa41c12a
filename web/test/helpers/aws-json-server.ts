import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** How the server treats one request: answer, never answer, answer late, or reset mid-answer. */
export type Behaviour = "answer" | "blackhole" | "slow" | "reset";

export interface AwsJsonServerOptions {
  /** Behaviour of each request in turn; the last one repeats. Default ["answer"]. */
  readonly script?: readonly Behaviour[];
  /** How late `slow` answers; default 5000 ms. */
  readonly slowMs?: number;
  /** `X-Amz-Target` → JSON body of the answer, e.g. "AmazonSSM.GetParameter". */
  readonly answers: Readonly<Record<string, unknown>>;
}

/**
 * A local endpoint speaking the AWS JSON 1.1 protocol (what SSM and Secrets Manager use: POST /,
 * the operation in X-Amz-Target, JSON in and out), so the real SDK client, pointed at it with its
 * endpoint setting, runs its own serialisation, retries and timeouts against scripted faults.
 */
export class AwsJsonServer {
  readonly #server: Server;
  readonly #options: AwsJsonServerOptions;
  /** Requests received, in order: their X-Amz-Target. */
  readonly targets: string[] = [];

  private constructor(options: AwsJsonServerOptions) {
    this.#options = options;
    this.#server = createServer((req, res) => void this.#handle(req, res));
  }

  static async start(options: AwsJsonServerOptions): Promise<AwsJsonServer> {
    const server = new AwsJsonServer(options);
    server.#server.listen(0, "127.0.0.1");
    await once(server.#server, "listening");
    return server;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    for await (const _ of req) {
      // read the whole request, as a real endpoint does before answering
    }
    const target = String(req.headers["x-amz-target"] ?? "");
    const script = this.#options.script ?? ["answer"];
    const behaviour = script[Math.min(this.targets.length, script.length - 1)] ?? "answer";
    this.targets.push(target);
    if (behaviour === "blackhole") return;
    const known = target in this.#options.answers;
    const body = JSON.stringify(
      known
        ? this.#options.answers[target]
        : { __type: "UnknownOperationException", message: `no answer for ${target}` },
    );
    if (behaviour === "slow") {
      await new Promise((resolve) => setTimeout(resolve, this.#options.slowMs ?? 5000));
      if (res.destroyed) return;
    }
    res.writeHead(known ? 200 : 400, {
      "content-type": "application/x-amz-json-1.1",
      "content-length": Buffer.byteLength(body),
      "x-amzn-requestid": `req-${this.targets.length}`,
    });
    if (behaviour === "reset") {
      res.write(body.slice(0, Math.floor(body.length / 2)));
      setImmediate(() => req.socket.resetAndDestroy());
      return;
    }
    res.end(body);
  }
}
