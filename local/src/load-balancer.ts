/**
 * A local stand-in for the Application Load Balancer and its target group: round robin over
 * healthy targets, active health checks with thresholds, 502/503/504 answered by the balancer,
 * X-Forwarded-* set as the ALB sets them, and deregistration with connection draining.
 *
 * Upstream side: node:http with one keep-alive Agent per target, not undici. Requests and
 * responses are streams on both sides, so `pipe` gives streaming with backpressure for free and
 * headers pass through untouched (undici normalises them into its own shapes, and its pool
 * hides which socket a request is on, which draining and the idle-socket retry below need).
 * A per-target agent also lets draining close exactly that target's idle connections.
 */
import { EventEmitter } from "node:events";
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
import { sendErrorPage } from "./error-page.js";
import { endToEndHeaders, forwardedRequestHeaders } from "./forwarded-headers.js";
import { probeHealth } from "./health-check.js";
import { type Logger, silentLogger } from "./logger.js";

export interface Target {
  readonly id: string;
  readonly host: string;
  readonly port: number;
}

export type TargetState = "initial" | "healthy" | "unhealthy" | "draining";

export type TargetView = Target & { readonly state: TargetState; readonly inFlight: number };

/**
 * Options of {@link LoadBalancer}. Health-check defaults are shorter than the ALB's
 * (interval 30 s, timeout 5 s, healthy 5, unhealthy 2) so a local fleet is up in seconds.
 */
export interface LoadBalancerOptions {
  /** Path probed with GET; HTTP 200 is healthy. Default "/health". */
  readonly healthCheckPath?: string;
  /** Time between probes of one target. Default 2000 ms. */
  readonly healthCheckIntervalMs?: number;
  /** A probe without an answer in this time fails. Default 1500 ms. */
  readonly healthCheckTimeoutMs?: number;
  /** Consecutive successes that make an initial/unhealthy target healthy. Default 2. */
  readonly healthyThreshold?: number;
  /** Consecutive failures that make a target unhealthy. Default 2. */
  readonly unhealthyThreshold?: number;
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
  /** Longest wait for a draining target's in-flight requests (ALB default 300 s). Default 30000 ms. */
  readonly deregistrationDelayMs?: number;
  /** Default silent. */
  readonly logger?: Logger;
}

interface TargetEntry {
  readonly target: Target;
  state: TargetState;
  inFlight: number;
  successes: number;
  failures: number;
  readonly agent: Agent;
  readonly active: Set<ClientRequest>;
  timer: NodeJS.Timeout | undefined;
  lastReason: string;
}

class TargetTimeoutError extends Error {
  constructor(ms: number) {
    super(`target sent nothing for ${ms} ms`);
  }
}

class DrainTimeoutError extends Error {
  constructor() {
    super("deregistration delay passed");
  }
}

export class LoadBalancer {
  private readonly healthCheckPath: string;
  private readonly intervalMs: number;
  private readonly probeTimeoutMs: number;
  private readonly healthyThreshold: number;
  private readonly unhealthyThreshold: number;
  private readonly idleTimeoutMs: number;
  private readonly targetTimeoutMs: number;
  private readonly deregistrationDelayMs: number;
  private readonly maxConnections: number;
  private readonly lingerMs: number;
  private readonly internalPaths: ReadonlySet<string>;
  private readonly log: Logger;
  private readonly entries = new Map<string, TargetEntry>();
  private readonly events = new EventEmitter();
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private listenerPort = 0;
  private cursor = 0;
  private closed = false;

  constructor(options: LoadBalancerOptions = {}) {
    this.healthCheckPath = options.healthCheckPath ?? "/health";
    this.intervalMs = options.healthCheckIntervalMs ?? 2000;
    this.probeTimeoutMs = options.healthCheckTimeoutMs ?? 1500;
    this.healthyThreshold = options.healthyThreshold ?? 2;
    this.unhealthyThreshold = options.unhealthyThreshold ?? 2;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
    this.targetTimeoutMs = options.targetTimeoutMs ?? this.idleTimeoutMs;
    this.deregistrationDelayMs = options.deregistrationDelayMs ?? 30_000;
    this.maxConnections = options.maxConnections ?? 1000;
    this.lingerMs = options.lingerMs ?? 30_000;
    this.internalPaths = new Set(options.internalPaths ?? ["/health/ready"]);
    this.log = options.logger ?? silentLogger;
    this.events.setMaxListeners(0);

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
        this.log.info({ port: this.listenerPort, host }, "load balancer listening");
        resolve(this.listenerPort);
      });
    });
  }

  /** Adds a target in state "initial"; it gets traffic once it passes the healthy threshold. */
  register(target: Target): void {
    if (this.closed) throw new Error("load balancer is closed");
    if (this.entries.has(target.id)) throw new Error(`target ${target.id} is already registered`);
    const entry: TargetEntry = {
      target: { id: target.id, host: target.host, port: target.port },
      state: "initial",
      inFlight: 0,
      successes: 0,
      failures: 0,
      // Target connections stay open at most the idle timeout, or less if the target's
      // Keep-Alive hint says so (Node's agent honours it), like the ALB's target side.
      agent: new Agent({ keepAlive: true, timeout: this.idleTimeoutMs }),
      active: new Set(),
      timer: undefined,
      lastReason: "registered",
    };
    this.entries.set(target.id, entry);
    this.log.info({ target: target.id, port: target.port }, "target registered");
    this.emitState(entry);
    void this.check(entry);
  }

  /**
   * Takes a target out of rotation ("draining"), waits for its in-flight requests to finish or
   * for the deregistration delay (then cuts what remains, as the ALB does), and removes it.
   * Unknown ids resolve at once, like the ALB's DeregisterTargets.
   */
  async deregister(id: string): Promise<void> {
    const entry = this.entries.get(id);
    if (!entry) return;
    if (entry.state === "draining") {
      await this.waitForRemoval(id);
      return;
    }
    this.setState(entry, "draining", "deregistered");
    if (entry.timer) clearTimeout(entry.timer);
    const drained = await this.waitUntil(
      () => entry.inFlight === 0,
      this.deregistrationDelayMs,
      `target ${id} drained`,
    ).then(
      () => true,
      () => false,
    );
    if (!drained) {
      this.log.warn(
        { target: id, inFlight: entry.inFlight, delayMs: this.deregistrationDelayMs },
        "deregistration delay passed; closing remaining requests",
      );
      for (const upstream of entry.active) upstream.destroy(new DrainTimeoutError());
    }
    entry.agent.destroy();
    this.entries.delete(id);
    this.log.info({ target: id }, "target removed");
    this.events.emit("removed", id);
  }

  /** Resolves when the target is healthy; rejects after timeoutMs or if it is deregistered. */
  waitForHealthy(id: string, timeoutMs: number): Promise<void> {
    return this.waitUntil(
      () => {
        const entry = this.entries.get(id);
        if (!entry || entry.state === "draining") {
          throw new Error(`target ${id} is not registered`);
        }
        return entry.state === "healthy";
      },
      timeoutMs,
      `target ${id} healthy`,
    );
  }

  /** Resolves when the target's state is `state`; rejects after timeoutMs. */
  waitForState(id: string, state: TargetState, timeoutMs: number): Promise<void> {
    return this.waitUntil(
      () => this.entries.get(id)?.state === state,
      timeoutMs,
      `target ${id} ${state}`,
    );
  }

  /** A snapshot of the targets, in registration order. */
  targets(): ReadonlyArray<TargetView> {
    return [...this.entries.values()].map((e) => ({
      ...e.target,
      state: e.state,
      inFlight: e.inFlight,
    }));
  }

  /** Calls `listener` on every state change; returns the function that unsubscribes. */
  onStateChange(listener: (target: TargetView, reason: string) => void): () => void {
    const wrapped = (view: TargetView, reason: string) => listener(view, reason);
    this.events.on("state", wrapped);
    return () => this.events.off("state", wrapped);
  }

  /** The bound port, 0 before {@link listen}. */
  get port(): number {
    return this.listenerPort;
  }

  /** Stops health checks and closes every client and target connection at once. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const entry of this.entries.values()) {
      if (entry.timer) clearTimeout(entry.timer);
      for (const upstream of entry.active) upstream.destroy();
      entry.agent.destroy();
    }
    this.entries.clear();
    const closing = new Promise<void>((resolve) => {
      if (!this.server.listening) resolve();
      else this.server.close(() => resolve());
    });
    for (const socket of this.sockets) socket.destroy();
    await closing;
  }

  private emitState(entry: TargetEntry): void {
    const view: TargetView = { ...entry.target, state: entry.state, inFlight: entry.inFlight };
    this.events.emit("state", view, entry.lastReason);
  }

  private setState(entry: TargetEntry, state: TargetState, reason: string): void {
    if (entry.state === state) return;
    const from = entry.state;
    entry.state = state;
    entry.lastReason = reason;
    const level = state === "unhealthy" ? "warn" : "info";
    this.log[level]({ target: entry.target.id, from, to: state, reason }, "target state changed");
    this.emitState(entry);
  }

  private isChecked(entry: TargetEntry): boolean {
    return (
      !this.closed && entry.state !== "draining" && this.entries.get(entry.target.id) === entry
    );
  }

  private async check(entry: TargetEntry): Promise<void> {
    if (!this.isChecked(entry)) return;
    const result = await probeHealth({
      host: entry.target.host,
      port: entry.target.port,
      path: this.healthCheckPath,
      timeoutMs: this.probeTimeoutMs,
    });
    // Deregistration or close() may have happened while the probe was out.
    if (!this.isChecked(entry)) return;
    if (result.ok) {
      entry.failures = 0;
      entry.successes += 1;
      if (entry.state !== "healthy" && entry.successes >= this.healthyThreshold) {
        this.setState(entry, "healthy", `${entry.successes} checks passed`);
      }
    } else {
      entry.successes = 0;
      entry.failures += 1;
      if (entry.state !== "unhealthy" && entry.failures >= this.unhealthyThreshold) {
        this.setState(entry, "unhealthy", `${entry.failures} checks failed: ${result.reason}`);
      }
    }
    entry.timer = setTimeout(() => void this.check(entry), this.intervalMs);
    entry.timer.unref();
  }

  /**
   * Round robin in registration order: start after the target picked last time, take the
   * first healthy one. Stable when targets join or leave, unlike an index into a filtered list.
   */
  private pick(): TargetEntry | undefined {
    const all = [...this.entries.values()];
    for (let i = 0; i < all.length; i += 1) {
      const entry = all[(this.cursor + i) % all.length];
      if (entry?.state === "healthy") {
        this.cursor = (this.cursor + i + 1) % all.length;
        return entry;
      }
    }
    return undefined;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    if (this.internalPaths.has(normalisePath(req.url ?? "/"))) {
      req.resume();
      sendErrorPage(
        res,
        403,
        "Forbidden",
        "This path is answered only to the instance itself and the load balancer's health checks.",
      );
      return;
    }
    const entry = this.pick();
    if (!entry) {
      // The ALB "fails open" (sends to every target) when all are unhealthy; locally a plain
      // 503 is more useful: it shows that the fleet is down instead of hiding it.
      const count = this.entries.size;
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
    entry.inFlight += 1;
    let finished = false;
    res.on("close", () => {
      if (finished) return;
      finished = true;
      entry.inFlight -= 1;
      if (entry.inFlight === 0) this.events.emit("idle", entry.target.id);
    });
    this.forward(req, res, entry, true);
  }

  private forward(
    req: IncomingMessage,
    res: ServerResponse,
    entry: TargetEntry,
    mayRetry: boolean,
  ): void {
    const { target } = entry;
    const upstream = request({
      host: target.host,
      port: target.port,
      method: req.method,
      path: req.url,
      headers: forwardedRequestHeaders(req, { proto: "http", port: this.listenerPort }),
      agent: entry.agent,
    });
    entry.active.add(upstream);
    let responded = false;
    upstream.setTimeout(this.targetTimeoutMs, () => {
      upstream.destroy(new TargetTimeoutError(this.targetTimeoutMs));
    });

    // Whether the client's whole body has been handed to the target (true at once without one).
    let bodyForwarded = !hasBody(req);
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
      entry.active.delete(upstream);
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
        !hasBody(req)
      ) {
        this.log.debug({ target: target.id }, "stale keep-alive socket; retrying once");
        this.forward(req, res, entry, false);
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
            this.deregistrationDelayMs / 1000
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
    upstream.on("close", () => entry.active.delete(upstream));

    res.on("close", () => {
      if (!res.writableFinished) upstream.destroy();
    });
    if (hasBody(req)) {
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

  private waitForRemoval(id: string): Promise<void> {
    return new Promise((resolve) => {
      if (!this.entries.has(id)) return resolve();
      const onRemoved = (removed: string) => {
        if (removed !== id) return;
        this.events.off("removed", onRemoved);
        resolve();
      };
      this.events.on("removed", onRemoved);
    });
  }

  /** Re-evaluates `done` on every state change and idle event until it holds or time runs out. */
  private waitUntil(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const cleanup = () => {
        clearTimeout(timer);
        this.events.off("state", evaluate);
        this.events.off("idle", evaluate);
        this.events.off("removed", evaluate);
      };
      const evaluate = () => {
        try {
          if (!done()) return;
        } catch (err) {
          cleanup();
          reject(err);
          return;
        }
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.events.on("state", evaluate);
      this.events.on("idle", evaluate);
      this.events.on("removed", evaluate);
      evaluate();
    });
  }
}

/**
 * The path as nginx matches locations: query dropped, %-escapes decoded, dot segments resolved,
 * repeated slashes merged. Undecodable input is returned as is (it matches nothing internal).
 */
export function normalisePath(url: string): string {
  const raw = url.split("?", 1)[0] ?? "/";
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    return raw;
  }
  const segments: string[] = [];
  for (const segment of decoded.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") segments.pop();
    else segments.push(segment);
  }
  const trailing = decoded.endsWith("/") && segments.length > 0 ? "/" : "";
  return `/${segments.join("/")}${trailing}`;
}

/** Methods RFC 9110 calls safe: sending one again cannot change anything on the target. */
const RETRYABLE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers["content-length"];
  return req.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
}
