/**
 * The target group half of the local ALB stand-in: which targets exist, whether each passes its
 * health checks, and deregistration with a delay. It knows nothing of proxying: the proxy asks it
 * for a target per request ({@link TargetGroup.acquire}), says when the request is over
 * ({@link TargetGroup.release}), and cuts a target's connections when its `retired` signal fires.
 */
import { EventEmitter, on } from "node:events";
import { type Logger, silentLogger } from "../logger.js";
import { probeHealth } from "./health-probe.js";

export interface Target {
  readonly id: string;
  readonly host: string;
  readonly port: number;
}

export type TargetState = "initial" | "healthy" | "unhealthy" | "draining";

export type TargetView = Target & { readonly state: TargetState; readonly inFlight: number };

/**
 * Options of {@link TargetGroup}. Defaults are shorter than the ALB's (interval 30 s, timeout
 * 5 s, healthy 5, unhealthy 2, deregistration delay 300 s) so a local fleet is up in seconds.
 */
export interface TargetGroupOptions {
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
  /** Longest wait for a draining target's in-flight requests (ALB default 300 s). Default 30000 ms. */
  readonly deregistrationDelayMs?: number;
  /** Default silent. */
  readonly logger?: Logger;
}

/** Why a draining target's remaining requests were cut: the deregistration delay passed. */
export class DrainTimeoutError extends Error {
  constructor(readonly delayMs: number) {
    super("deregistration delay passed");
  }
}

/** One registered target as the group tracks it; the proxy reads `target` and `retired`. */
export class Member {
  state: TargetState = "initial";
  inFlight = 0;
  successes = 0;
  failures = 0;
  timer: NodeJS.Timeout | undefined;
  reason = "registered";
  /** Set while draining: called when the last in-flight request ends. */
  onIdle: (() => void) | undefined;
  removal: Promise<void> | undefined;
  private readonly controller = new AbortController();

  constructor(readonly target: Target) {}

  /**
   * Aborts when the member leaves the group (drained, delay passed, or the group closed); the
   * reason is a {@link DrainTimeoutError} when requests were still in flight.
   */
  get retired(): AbortSignal {
    return this.controller.signal;
  }

  retire(reason?: unknown): void {
    this.controller.abort(reason);
  }

  view(): TargetView {
    return { ...this.target, state: this.state, inFlight: this.inFlight };
  }
}

export class TargetGroup {
  private readonly healthCheckPath: string;
  private readonly intervalMs: number;
  private readonly probeTimeoutMs: number;
  private readonly healthyThreshold: number;
  private readonly unhealthyThreshold: number;
  private readonly deregistrationDelayMs: number;
  private readonly log: Logger;
  private readonly members = new Map<string, Member>();
  /** The members in registration order, for round robin without building an array per request. */
  private ring: Member[] = [];
  private readonly events = new EventEmitter();
  private cursor = 0;
  private closed = false;

  constructor(options: TargetGroupOptions = {}) {
    this.healthCheckPath = options.healthCheckPath ?? "/health";
    this.intervalMs = options.healthCheckIntervalMs ?? 2000;
    this.probeTimeoutMs = options.healthCheckTimeoutMs ?? 1500;
    this.healthyThreshold = options.healthyThreshold ?? 2;
    this.unhealthyThreshold = options.unhealthyThreshold ?? 2;
    this.deregistrationDelayMs = options.deregistrationDelayMs ?? 30_000;
    this.log = options.logger ?? silentLogger;
    this.events.setMaxListeners(0);
  }

  /** Adds a target in state "initial"; it gets traffic once it passes the healthy threshold. */
  register(target: Target): void {
    if (this.closed) throw new Error("load balancer is closed");
    if (this.members.has(target.id)) throw new Error(`target ${target.id} is already registered`);
    const member = new Member({ id: target.id, host: target.host, port: target.port });
    this.members.set(target.id, member);
    this.ring = [...this.members.values()];
    this.log.info({ target: target.id, port: target.port }, "target registered");
    this.events.emit("state", member.view(), member.reason);
    void this.check(member);
  }

  /**
   * Takes a target out of rotation ("draining"), waits for its in-flight requests to finish or
   * for the deregistration delay (then retires it with a {@link DrainTimeoutError}, so the proxy
   * cuts what remains, as the ALB does), and removes it. Unknown ids resolve at once, like the
   * ALB's DeregisterTargets; a second call for a draining target waits for the same removal.
   */
  deregister(id: string): Promise<void> {
    const member = this.members.get(id);
    if (!member) return Promise.resolve();
    member.removal ??= this.drain(member);
    return member.removal;
  }

  /** Resolves when the target is healthy; rejects after timeoutMs or if it is deregistered. */
  async waitForHealthy(id: string, timeoutMs: number): Promise<void> {
    const member = this.members.get(id);
    if (!member || member.state === "draining") throw new Error(`target ${id} is not registered`);
    if (member.state === "healthy") return;
    await this.nextState(id, `target ${id} healthy`, timeoutMs, (state) => {
      if (state === "draining") throw new Error(`target ${id} is not registered`);
      return state === "healthy";
    });
  }

  /** Resolves when the target's state is `state` (it may register later); rejects after timeoutMs. */
  async waitForState(id: string, state: TargetState, timeoutMs: number): Promise<void> {
    if (this.members.get(id)?.state === state) return;
    await this.nextState(id, `target ${id} ${state}`, timeoutMs, (s) => s === state);
  }

  /** Calls `listener` on every state change; returns the function that unsubscribes. */
  onStateChange(listener: (target: TargetView, reason: string) => void): () => void {
    this.events.on("state", listener);
    return () => this.events.off("state", listener);
  }

  /** A snapshot of the targets, in registration order. */
  targets(): ReadonlyArray<TargetView> {
    return this.ring.map((m) => m.view());
  }

  /** How many targets are registered (draining ones included). */
  get size(): number {
    return this.ring.length;
  }

  /**
   * The next healthy target, round robin in registration order, counted in flight until
   * {@link release}; undefined when none is healthy. Starting after the one picked last time
   * keeps the rotation stable when targets join or leave, unlike an index into a filtered list.
   */
  acquire(): Member | undefined {
    const ring = this.ring;
    const n = ring.length;
    for (let i = 0; i < n; i += 1) {
      const index = (this.cursor + i) % n;
      const member = ring[index];
      if (member?.state === "healthy") {
        this.cursor = (index + 1) % n;
        member.inFlight += 1;
        return member;
      }
    }
    return undefined;
  }

  /** Ends one request {@link acquire} counted. */
  release(member: Member): void {
    member.inFlight -= 1;
    if (member.inFlight === 0) member.onIdle?.();
  }

  /** Stops health checks and retires every target at once (the proxy cuts their connections). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const member of this.ring) {
      clearTimeout(member.timer);
      member.retire();
    }
    this.members.clear();
    this.ring = [];
  }

  private async drain(member: Member): Promise<void> {
    const { id } = member.target;
    this.setState(member, "draining", "deregistered");
    clearTimeout(member.timer);
    if (member.inFlight > 0) {
      let timer: NodeJS.Timeout | undefined;
      const drained = await new Promise<boolean>((resolve) => {
        member.onIdle = () => resolve(true);
        timer = setTimeout(() => resolve(false), this.deregistrationDelayMs);
      });
      clearTimeout(timer);
      member.onIdle = undefined;
      if (!drained) {
        this.log.warn(
          { target: id, inFlight: member.inFlight, delayMs: this.deregistrationDelayMs },
          "deregistration delay passed; closing remaining requests",
        );
        member.retire(new DrainTimeoutError(this.deregistrationDelayMs));
      }
    }
    member.retire();
    // close() may have emptied the group while this one drained.
    if (this.members.get(id) === member) {
      this.members.delete(id);
      this.ring = [...this.members.values()];
      this.log.info({ target: id }, "target removed");
    }
  }

  /** Waits for a state event of target `id` that `done` accepts (or throws on). */
  private async nextState(
    id: string,
    what: string,
    timeoutMs: number,
    done: (state: TargetState) => boolean,
  ): Promise<void> {
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      for await (const [view] of on(this.events, "state", { signal })) {
        if ((view as TargetView).id === id && done((view as TargetView).state)) return;
      }
    } catch (err) {
      if (signal.aborted) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      throw err;
    }
  }

  private setState(member: Member, state: TargetState, reason: string): void {
    if (member.state === state) return;
    const from = member.state;
    member.state = state;
    member.reason = reason;
    const level = state === "unhealthy" ? "warn" : "info";
    this.log[level]({ target: member.target.id, from, to: state, reason }, "target state changed");
    this.events.emit("state", member.view(), reason);
  }

  private isChecked(member: Member): boolean {
    return (
      !this.closed && member.state !== "draining" && this.members.get(member.target.id) === member
    );
  }

  private async check(member: Member): Promise<void> {
    if (!this.isChecked(member)) return;
    const result = await probeHealth({
      host: member.target.host,
      port: member.target.port,
      path: this.healthCheckPath,
      timeoutMs: this.probeTimeoutMs,
    });
    // Deregistration or close() may have happened while the probe was out.
    if (!this.isChecked(member)) return;
    if (result.ok) {
      member.failures = 0;
      member.successes += 1;
      if (member.state !== "healthy" && member.successes >= this.healthyThreshold) {
        this.setState(member, "healthy", `${member.successes} checks passed`);
      }
    } else {
      member.successes = 0;
      member.failures += 1;
      if (member.state !== "unhealthy" && member.failures >= this.unhealthyThreshold) {
        this.setState(member, "unhealthy", `${member.failures} checks failed: ${result.reason}`);
      }
    }
    member.timer = setTimeout(() => void this.check(member), this.intervalMs);
    member.timer.unref();
  }
}
