/**
 * The proxy half of the local ALB stand-in: the client-facing server, and per request a target
 * from the {@link TargetGroup}, forwarding with X-Forwarded-*, early answers, a retry of safe
 * requests on a stale keep-alive socket, and the balancer's own 403/502/503/504 pages.
 *
 * Upstream side: node:http with one keep-alive Agent per target, not undici. Requests and
 * responses are streams on both sides, so `pipe` gives streaming with backpressure for free and
 * headers pass through untouched (undici normalises them into its own shapes, and its pool
 * hides which socket a request is on, which the stale-socket retry needs). A per-target agent
 * also lets a retired target's connections be closed exactly.
 */
import {
  Agent,
  type ClientRequest,
  createServer,
  type IncomingMessage,
  request,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { type Logger, silentLogger } from "../logger.js";
import { sendErrorPage } from "./error-page.js";
import { endToEndHeaders, forwardedRequestHeaders } from "./forwarded-headers.js";
import { InternalPaths } from "./internal-paths.js";
import { DrainTimeoutError, type Member, type TargetGroup } from "./target-group.js";

/** Options of {@link ReverseProxy}. */
export interface ProxyOptions {
  /**
   * Client connections idle this long are closed, and target connections are kept at most
   * this long (the ALB's idle timeout). Default 60000 ms.
   */
  readonly idleTimeoutMs?: number;
  /**
   * A target silent this long (no response headers, or a stalled body) gets a 504. The ALB ties
   * this to the idle timeout. Default: idleTimeoutMs.
   */
  readonly targetTimeoutMs?: number;
  /**
   * Client connections open at once; new ones beyond are refused (closed at accept). The ALB
   * scales instead, but a laptop's file descriptors do not: one runaway client must not take the
   * balancer down for everyone. Default 1000.
   */
  readonly maxConnections?: number;
  /**
   * Connections to one target at once; requests beyond wait in its agent's queue. Bounded so
   * that a burst does not open (and then keep idle) a socket per client connection. Default 256.
   */
  readonly maxSocketsPerTarget?: number;
  /**
   * After an early answer, how long the rest of the client's body is read and dropped before the
   * connection is cut (nginx's `lingering_time`): a client may not keep streaming for ever into
   * an answered request. Default 30000 ms.
   */
  readonly lingerMs?: number;
  /**
   * Paths answered 403 by the balancer itself and never forwarded: on EC2 nginx refuses
   * `/health/ready` to anything but the instance (deploy/nginx/fleetline.conf), and locally this
   * balancer stands in for the ALB and that nginx together. Matched after the same normalisation
   * nginx applies (%-decoding, `.`/`..` segments, repeated slashes; query ignored).
   * Default ["/health/ready"]; health checks do not go through here and may probe them.
   */
  readonly internalPaths?: readonly string[];
  /** Default silent. */
  readonly logger?: Logger;
}

class TargetTimeoutError extends Error {
  constructor(ms: number) {
    super(`target sent nothing for ${ms} ms`);
  }
}

/** A target's connections: its keep-alive agent and the requests on it now. */
interface Pool {
  readonly agent: Agent;
  readonly active: Set<ClientRequest>;
}

/** Methods RFC 9110 calls safe: sending one again cannot change anything on the target. */
const RETRYABLE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers["content-length"];
  return req.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
}

export class ReverseProxy {
  private readonly idleTimeoutMs: number;
  private readonly targetTimeoutMs: number;
  private readonly maxConnections: number;
  private readonly maxSockets: number;
  private readonly lingerMs: number;
  private readonly internalPaths: InternalPaths;
  private readonly log: Logger;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly pools = new WeakMap<Member, Pool>();
  private listenerPort = 0;
  private listener: { readonly proto: "http"; readonly port: number } = { proto: "http", port: 0 };

  constructor(
    private readonly group: TargetGroup,
    options: ProxyOptions = {},
  ) {
    this.idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
    this.targetTimeoutMs = options.targetTimeoutMs ?? this.idleTimeoutMs;
    this.maxConnections = options.maxConnections ?? 1000;
    this.maxSockets = options.maxSocketsPerTarget ?? 256;
    this.lingerMs = options.lingerMs ?? 30_000;
    this.internalPaths = new InternalPaths(options.internalPaths ?? ["/health/ready"]);
    this.log = options.logger ?? silentLogger;

    this.server = createServer(
      // The ALB has no limit on a whole request, only on idleness; Node's 300 s default would
      // cut long uploads and downloads short.
      {
        requestTimeout: 0,
        headersTimeout: this.idleTimeoutMs,
        keepAliveTimeout: this.idleTimeoutMs,
      },
      (req, res) => this.handle(req, res),
    );
    this.server.maxConnections = this.maxConnections;
    this.server.on("drop", () => {
      this.log.warn({ maxConnections: this.maxConnections }, "client connection refused: at cap");
    });
    // A client that goes silent in the middle of a request (headers half sent, a body that
    // stops) is cut after the idle timeout, as the ALB does; nothing else bounds it, since the
    // whole request has no time limit. One second later than the target timeout, so a slow
    // target still gets its 504 page out before the client's connection is judged idle.
    this.server.setTimeout(this.targetTimeoutMs + 1000, (socket: Socket) => socket.destroy());
    this.server.on("connection", (socket: Socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
    this.server.on("clientError", (_err, socket) => {
      if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n");
      else socket.destroy();
    });
  }

  /** Starts accepting clients; resolves the bound port (pass 0 for a free one). */
  listen(port: number, host = "127.0.0.1"): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.server.once("error", onError);
      this.server.listen(port, host, () => {
        this.server.off("error", onError);
        this.listenerPort = (this.server.address() as AddressInfo).port;
        this.listener = { proto: "http", port: this.listenerPort };
        this.log.info({ port: this.listenerPort, host }, "load balancer listening");
        resolve(this.listenerPort);
      });
    });
  }

  /** The bound port, 0 before {@link listen}. */
  get port(): number {
    return this.listenerPort;
  }

  /** Stops listening and closes every client connection at once. */
  close(): Promise<void> {
    const closing = new Promise<void>((resolve) => {
      if (!this.server.listening) resolve();
      else this.server.close(() => resolve());
    });
    for (const socket of this.sockets) socket.destroy();
    return closing;
  }

  /** The member's pool, made on its first request; closed when the member is retired. */
  private pool(member: Member): Pool {
    let pool = this.pools.get(member);
    if (pool) return pool;
    const made: Pool = {
      // Target connections stay open at most the idle timeout, or less if the target's
      // Keep-Alive hint says so (Node's agent honours it), like the ALB's target side.
      agent: new Agent({
        keepAlive: true,
        timeout: this.idleTimeoutMs,
        maxSockets: this.maxSockets,
      }),
      active: new Set(),
    };
    member.retired.addEventListener(
      "abort",
      () => {
        const reason: unknown = member.retired.reason;
        // A drain that ran out of time: what is still in flight gets the balancer's 502.
        const cut = reason instanceof DrainTimeoutError ? reason : undefined;
        for (const upstream of made.active) upstream.destroy(cut);
        made.agent.destroy();
      },
      { once: true },
    );
    this.pools.set(member, made);
    pool = made;
    return pool;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    if (this.internalPaths.has(req.url ?? "/")) {
      req.resume();
      sendErrorPage(
        res,
        403,
        "Forbidden",
        "This path is answered only to the instance itself and the load balancer's health checks.",
      );
      return;
    }
    const member = this.group.acquire();
    if (!member) {
      // The ALB "fails open" (sends to every target) when all are unhealthy; locally a plain
      // 503 is more useful: it shows that the fleet is down instead of hiding it.
      const count = this.group.size;
      req.resume();
      sendErrorPage(
        res,
        503,
        "Service Unavailable",
        count === 0
          ? "No instance is registered with the load balancer."
          : `None of the ${count} registered instance(s) is passing its health checks.`,
      );
      return;
    }
    res.once("close", () => this.group.release(member));
    this.forward(req, res, member, this.pool(member), true);
  }

  private forward(
    req: IncomingMessage,
    res: ServerResponse,
    member: Member,
    pool: Pool,
    mayRetry: boolean,
  ): void {
    const { target } = member;
    const upstream = request({
      host: target.host,
      port: target.port,
      method: req.method,
      path: req.url,
      headers: forwardedRequestHeaders(req, this.listener),
      // The retry of a stale keep-alive socket goes on a connection of its own: the agent's
      // other idle sockets may be just as stale (a target that restarted closed them all).
      agent: mayRetry ? pool.agent : false,
    });
    pool.active.add(upstream);
    let responded = false;
    upstream.setTimeout(this.targetTimeoutMs, () => {
      upstream.destroy(new TargetTimeoutError(this.targetTimeoutMs));
    });

    const withBody = hasBody(req);
    // Whether the client's whole body has been handed to the target (true at once without one).
    let bodyForwarded = !withBody;
    let answer: IncomingMessage | undefined;

    upstream.on("response", (up) => {
      responded = true;
      answer = up;
      if (!bodyForwarded) {
        // An early answer (413, 401, a redirect…) before the client finished sending: pass it on,
        // as the ALB does. Stop feeding the target (it has answered; its connection is mid-request
        // and cannot be reused, so it is dropped once the answer is through) and read the rest of
        // the client's body into the void, so the client finishes sending and reads the answer
        // on a connection that stays usable.
        this.log.debug({ target: target.id, status: up.statusCode }, "early answer");
        req.unpipe(upstream);
        req.resume();
        const linger = setTimeout(() => req.socket.destroy(), this.lingerMs);
        linger.unref();
        req.once("end", () => clearTimeout(linger));
        req.once("close", () => clearTimeout(linger));
        up.on("end", () => upstream.destroy());
      }
      res.writeHead(up.statusCode ?? 502, up.statusMessage, endToEndHeaders(up.headers));
      up.pipe(res);
      up.on("error", () => {
        if (!up.complete) res.destroy();
      });
      up.on("aborted", () => {
        if (!up.complete) res.destroy();
      });
    });

    upstream.on("error", (err: NodeJS.ErrnoException) => {
      pool.active.delete(upstream);
      if (res.writableEnded || res.destroyed) return;
      // The answer arrived whole; the target closing its end while the body was still on its
      // way (or our own destroy after an early answer) changes nothing for the client.
      if (answer?.complete) return;
      // A keep-alive socket the target closed while idle fails on first write; the request
      // never reached the target. Only safe methods are sent again: a POST or DELETE may have
      // been acted on before the reset, body or not, and the ALB never retries those either.
      if (
        mayRetry &&
        !responded &&
        upstream.reusedSocket &&
        err.code === "ECONNRESET" &&
        RETRYABLE_METHODS.has(req.method ?? "") &&
        !withBody
      ) {
        this.log.debug({ target: target.id }, "stale keep-alive socket; retrying once");
        this.forward(req, res, member, pool, false);
        return;
      }
      if (responded || res.headersSent) {
        // The body had started: all that can be said now is to cut the client connection.
        this.log.warn({ target: target.id, error: err.message }, "target failed mid-response");
        res.destroy();
        return;
      }
      if (err instanceof TargetTimeoutError) {
        this.log.warn({ target: target.id, url: req.url }, "target timed out");
        sendErrorPage(
          res,
          504,
          "Gateway Timeout",
          `Instance ${target.id} did not answer within ${this.targetTimeoutMs / 1000} s.`,
        );
      } else if (err instanceof DrainTimeoutError) {
        sendErrorPage(
          res,
          502,
          "Bad Gateway",
          `Instance ${target.id} was deregistered and did not finish within ${
            err.delayMs / 1000
          } s.`,
        );
      } else {
        this.log.warn({ target: target.id, url: req.url, error: err.code ?? err.message }, "502");
        sendErrorPage(
          res,
          502,
          "Bad Gateway",
          `Instance ${target.id} failed before answering (${err.code ?? err.message}).`,
        );
        // The client may still be sending: read it off so it gets this page.
        req.unpipe(upstream);
        req.resume();
      }
    });
    upstream.on("close", () => pool.active.delete(upstream));

    res.on("close", () => {
      if (!res.writableFinished) upstream.destroy();
    });
    if (withBody) {
      req.pipe(upstream);
      req.on("end", () => {
        bodyForwarded = true;
      });
      req.on("aborted", () => upstream.destroy());
    } else {
      req.resume();
      upstream.end();
    }
  }
}
