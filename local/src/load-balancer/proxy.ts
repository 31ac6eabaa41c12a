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
  type AgentOptions,
  type ClientRequest,
  createServer,
  type IncomingMessage,
  request,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { Duplex } from "node:stream";
import { type Logger, silentLogger } from "../logger.js";
import { sendErrorPage } from "./error-page.js";
import {
  endToEndHeaderList,
  forwardedRequestHeaderList,
  type Listener,
} from "./forwarded-headers.js";
import { InternalPaths } from "./internal-paths.js";
import { DrainTimeoutError, type Member, type TargetGroup } from "./target-group.js";

/** Options of {@link ReverseProxy}. */
export interface ProxyOptions {
  /** Client connections idle this long are closed (the ALB's idle timeout). Default 60000 ms. */
  readonly idleTimeoutMs?: number;
  /**
   * A target silent this long (no response headers, or a stalled body) gets a 504, and idle
   * target connections are kept at most this long (less if the target's Keep-Alive hint says
   * so). The ALB ties this to the idle timeout. Default: idleTimeoutMs.
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

/**
 * Node's keep-alive Agent, except that a socket taken from the pool gets the target timeout
 * back: while it sat idle the agent may have shortened it to the target's Keep-Alive hint, and
 * Node restores it only for a request timeout different from the agent's.
 */
class TargetAgent extends Agent {
  constructor(
    private readonly requestTimeoutMs: number,
    options: AgentOptions,
  ) {
    super({ ...options, timeout: requestTimeoutMs });
  }

  override reuseSocket(socket: Duplex, request: ClientRequest): void {
    super.reuseSocket(socket, request);
    const net = socket as Socket;
    if (net.timeout !== this.requestTimeoutMs) net.setTimeout(this.requestTimeoutMs);
  }
}

/** A target's connections: its keep-alive agent and the requests on it now. */
interface Pool {
  readonly agent: Agent;
  readonly active: Set<ClientRequest>;
}

/** What every exchange reads from its proxy. */
interface Settings {
  readonly group: TargetGroup;
  readonly targetTimeoutMs: number;
  readonly lingerMs: number;
  readonly log: Logger;
  listener: Listener;
}

/**
 * The per-request state is hung on the request, response and upstream objects under this key,
 * so that their listeners are shared functions instead of a dozen closures made per request.
 */
const EXCHANGE = Symbol("exchange");
interface Carrier {
  [EXCHANGE]: Exchange;
}
function exchangeOf(emitter: unknown): Exchange {
  return (emitter as Carrier)[EXCHANGE];
}
function carry(emitter: object, exchange: Exchange): void {
  (emitter as Carrier)[EXCHANGE] = exchange;
}

/** One client request and its attempts upstream (a second one only for a stale socket). */
class Exchange {
  upstream: ClientRequest | undefined;
  /** Whether the current attempt may be sent again on a stale keep-alive socket. */
  mayRetry = true;
  responded = false;
  answer: IncomingMessage | undefined;
  /** Whether the client's whole body has been handed to the target (true at once without one). */
  bodyForwarded: boolean;
  readonly withBody: boolean;
  private headers: string[] | undefined;

  constructor(
    readonly settings: Settings,
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly member: Member,
    readonly pool: Pool,
  ) {
    this.withBody = hasBody(req);
    this.bodyForwarded = !this.withBody;
  }

  send(mayRetry: boolean): void {
    const { req, member, pool, settings } = this;
    const { target } = member;
    this.headers ??= forwardedRequestHeaderList(
      req,
      settings.listener,
      `${target.host}:${target.port}`,
    );
    const upstream = request({
      host: target.host,
      port: target.port,
      method: req.method,
      path: req.url,
      headers: this.headers,
      // The retry of a stale keep-alive socket goes on a connection of its own: the agent's
      // other idle sockets may be just as stale (a target that restarted closed them all).
      agent: mayRetry ? pool.agent : false,
      // Emits "timeout" after this long without a byte either way (see TargetAgent).
      timeout: settings.targetTimeoutMs,
    });
    this.upstream = upstream;
    this.mayRetry = mayRetry;
    this.responded = false;
    carry(upstream, this);
    pool.active.add(upstream);
    upstream.on("response", onUpstreamResponse);
    upstream.on("error", onUpstreamError);
    upstream.on("timeout", onUpstreamTimeout);
    upstream.on("close", onUpstreamClose);
    // A request without a body is not resumed: Node's server discards it once the response
    // has finished, one stream turn fewer per request.
    if (this.withBody) req.pipe(upstream);
    else upstream.end();
  }

  respond(upstream: ClientRequest, up: IncomingMessage): void {
    const { req, res, settings } = this;
    this.responded = true;
    this.answer = up;
    if (!this.bodyForwarded) {
      // An early answer (413, 401, a redirect…) before the client finished sending: pass it on,
      // as the ALB does. Stop feeding the target (it has answered; its connection is mid-request
      // and cannot be reused, so it is dropped once the answer is through) and read the rest of
      // the client's body into the void, so the client finishes sending and reads the answer
      // on a connection that stays usable.
      settings.log.debug({ target: this.member.target.id, status: up.statusCode }, "early answer");
      req.unpipe(upstream);
      req.resume();
      const linger = setTimeout(() => req.socket.destroy(), settings.lingerMs);
      linger.unref();
      req.once("end", () => clearTimeout(linger));
      req.once("close", () => clearTimeout(linger));
      up.on("end", () => upstream.destroy());
    }
    res.writeHead(up.statusCode ?? 502, up.statusMessage, endToEndHeaderList(up));
    carry(up, this);
    up.on("error", onAnswerBroken);
    up.on("aborted", onAnswerBroken);
    // By hand rather than `up.pipe(res)`: the same backpressure (pause until the client's
    // socket drains) with three listeners instead of pipe's seven added and removed per request.
    up.on("data", onAnswerData);
    up.on("end", onAnswerEnd);
  }

  fail(upstream: ClientRequest, err: NodeJS.ErrnoException): void {
    const { req, res, member, settings } = this;
    const { target } = member;
    this.pool.active.delete(upstream);
    if (res.writableEnded || res.destroyed) return;
    // The answer arrived whole; the target closing its end while the body was still on its
    // way (or our own destroy after an early answer) changes nothing for the client.
    if (this.answer?.complete) return;
    // A keep-alive socket the target closed while idle fails on first write; the request
    // never reached the target. Only safe methods are sent again: a POST or DELETE may have
    // been acted on before the reset, body or not, and the ALB never retries those either.
    if (
      this.mayRetry &&
      !this.responded &&
      upstream.reusedSocket &&
      err.code === "ECONNRESET" &&
      RETRYABLE_METHODS.has(req.method ?? "") &&
      !this.withBody
    ) {
      settings.log.debug({ target: target.id }, "stale keep-alive socket; retrying once");
      this.send(false);
      return;
    }
    if (this.responded || res.headersSent) {
      // The body had started: all that can be said now is to cut the client connection.
      settings.log.warn({ target: target.id, error: err.message }, "target failed mid-response");
      res.destroy();
      return;
    }
    if (err instanceof TargetTimeoutError) {
      settings.log.warn({ target: target.id, url: req.url }, "target timed out");
      sendErrorPage(
        res,
        504,
        "Gateway Timeout",
        `Instance ${target.id} did not answer within ${settings.targetTimeoutMs / 1000} s.`,
      );
    } else if (err instanceof DrainTimeoutError) {
      sendErrorPage(
        res,
        502,
        "Bad Gateway",
        `Instance ${target.id} was deregistered and did not finish within ${err.delayMs / 1000} s.`,
      );
    } else {
      settings.log.warn({ target: target.id, url: req.url, error: err.code ?? err.message }, "502");
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
  }
}

function onUpstreamResponse(this: ClientRequest, up: IncomingMessage): void {
  exchangeOf(this).respond(this, up);
}
function onUpstreamError(this: ClientRequest, err: NodeJS.ErrnoException): void {
  exchangeOf(this).fail(this, err);
}
function onUpstreamTimeout(this: ClientRequest): void {
  this.destroy(new TargetTimeoutError(exchangeOf(this).settings.targetTimeoutMs));
}
function onUpstreamClose(this: ClientRequest): void {
  exchangeOf(this).pool.active.delete(this);
}
function onAnswerData(this: IncomingMessage, chunk: Buffer): void {
  const { res } = exchangeOf(this);
  if (!res.write(chunk)) {
    this.pause();
    res.once("drain", onClientDrain);
  }
}
function onAnswerEnd(this: IncomingMessage): void {
  exchangeOf(this).res.end();
}
function onClientDrain(this: ServerResponse): void {
  exchangeOf(this).answer?.resume();
}
/** The target's answer broke off before its end: cut the client's too. */
function onAnswerBroken(this: IncomingMessage): void {
  if (!this.complete) exchangeOf(this).res.destroy();
}
function onClientClose(this: ServerResponse): void {
  const exchange = exchangeOf(this);
  if (!this.writableFinished) exchange.upstream?.destroy();
  exchange.settings.group.release(exchange.member);
}
function onClientBodyEnd(this: IncomingMessage): void {
  exchangeOf(this).bodyForwarded = true;
}
function onClientAborted(this: IncomingMessage): void {
  exchangeOf(this).upstream?.destroy();
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
  private readonly internalPaths: InternalPaths;
  private readonly log: Logger;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly pools = new WeakMap<Member, Pool>();
  private readonly settings: Settings;
  private listenerPort = 0;

  constructor(
    private readonly group: TargetGroup,
    options: ProxyOptions = {},
  ) {
    this.idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
    this.targetTimeoutMs = options.targetTimeoutMs ?? this.idleTimeoutMs;
    this.maxConnections = options.maxConnections ?? 1000;
    this.maxSockets = options.maxSocketsPerTarget ?? 256;
    this.internalPaths = new InternalPaths(options.internalPaths ?? ["/health/ready"]);
    this.log = options.logger ?? silentLogger;
    this.settings = {
      group,
      targetTimeoutMs: this.targetTimeoutMs,
      lingerMs: options.lingerMs ?? 30_000,
      log: this.log,
      listener: { proto: "http", port: "0" },
    };

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
        this.settings.listener = { proto: "http", port: String(this.listenerPort) };
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
      // Idle target connections stay open at most the target timeout, or less if the target's
      // Keep-Alive hint says so (Node's agent honours it), like the ALB's target side.
      agent: new TargetAgent(this.targetTimeoutMs, {
        keepAlive: true,
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
    const exchange = new Exchange(this.settings, req, res, member, this.pool(member));
    carry(res, exchange);
    res.once("close", onClientClose);
    if (exchange.withBody) {
      carry(req, exchange);
      req.once("end", onClientBodyEnd);
      req.once("aborted", onClientAborted);
    }
    exchange.send(true);
  }
}
