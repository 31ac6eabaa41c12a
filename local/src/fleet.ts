import { type ChildProcess, spawn } from "node:child_process";
import { pipeInstanceLog } from "./instance-log.js";
import { type Logger, silentLogger } from "./logger.js";
import { stopChild } from "./processes.js";
import { defaultWebCommand, type WebCommand } from "./web-command.js";

/** One instance the fleet runs: its id (the web's INSTANCE_ID) and port. */
export interface InstanceSpec {
  readonly id: string;
  readonly port: number;
}

export type InstanceStatus = "starting" | "running" | "stopping" | "stopped" | "waiting-restart";

export interface InstanceView extends InstanceSpec {
  readonly status: InstanceStatus;
  readonly pid: number | undefined;
  /** Restarts after crashes (not the deliberate ones of a rolling restart). */
  readonly crashes: number;
}

/** Options of {@link Fleet}. */
export interface FleetOptions {
  /** The instances to run. Required. */
  readonly instances: ReadonlyArray<InstanceSpec>;
  /** Environment shared by every instance; PORT and INSTANCE_ID are added per instance. Required. */
  readonly env: Readonly<Record<string, string>>;
  /** Default: the real web, `node --import tsx web/src/server.ts` from the repository root. */
  readonly command?: WebCommand;
  /** First wait before restarting a crashed instance; doubles per crash in a row. Default 500 ms. */
  readonly restartInitialDelayMs?: number;
  /** Longest wait between restarts. Default 10000 ms. */
  readonly restartMaxDelayMs?: number;
  /** An instance that ran this long is stable again and its backoff resets. Default 30000 ms. */
  readonly stableAfterMs?: number;
  /** SIGTERM first; SIGKILL after this long. Default 15000 ms. */
  readonly stopTimeoutMs?: number;
  /** Receives every instance log line, already prefixed with "[id] ". Default: dropped. */
  readonly output?: (line: string) => void;
  /** The supervisor's own events (crash, restart). Default silent. */
  readonly logger?: Logger;
}

interface Managed {
  readonly spec: InstanceSpec;
  child: ChildProcess | undefined;
  status: InstanceStatus;
  crashes: number;
  crashesInARow: number;
  startedAt: number;
  restartTimer: NodeJS.Timeout | undefined;
}

/**
 * Runs web instances as child processes and keeps them running: a crash is logged and followed
 * by a restart after an exponential backoff (so a web that cannot start does not spin the CPU),
 * a deliberate stop is not. Knows nothing about the load balancer; the stack wires both.
 */
export class Fleet {
  private readonly managed: Managed[];
  private readonly command: WebCommand;
  private readonly initialDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly stableAfterMs: number;
  private readonly stopTimeoutMs: number;
  private readonly output: (line: string) => void;
  private readonly log: Logger;
  private stopping = false;

  constructor(private readonly options: FleetOptions) {
    this.command = options.command ?? defaultWebCommand();
    this.initialDelayMs = options.restartInitialDelayMs ?? 500;
    this.maxDelayMs = options.restartMaxDelayMs ?? 10_000;
    this.stableAfterMs = options.stableAfterMs ?? 30_000;
    this.stopTimeoutMs = options.stopTimeoutMs ?? 15_000;
    this.output = options.output ?? (() => {});
    this.log = options.logger ?? silentLogger;
    this.managed = options.instances.map((spec) => ({
      spec,
      child: undefined,
      status: "stopped",
      crashes: 0,
      crashesInARow: 0,
      startedAt: 0,
      restartTimer: undefined,
    }));
  }

  /** Spawns every instance; does not wait for them to be healthy (the load balancer knows). */
  start(): void {
    // Last resort if the supervisor dies without stop() (an uncaught error, process.exit):
    // instances in their own process group would otherwise outlive it.
    process.once("exit", this.killAll);
    for (const m of this.managed) this.spawn(m);
  }

  private readonly killAll = (): void => {
    for (const m of this.managed) m.child?.kill("SIGKILL");
  };

  instances(): ReadonlyArray<InstanceView> {
    return this.managed.map((m) => ({
      ...m.spec,
      status: m.status,
      pid: m.child?.pid,
      crashes: m.crashes,
    }));
  }

  /** Stops one instance on purpose (SIGTERM, SIGKILL after the timeout) and starts it again. */
  async restart(id: string): Promise<void> {
    const m = this.find(id);
    await this.stopOne(m);
    if (this.stopping) return;
    m.crashesInARow = 0;
    this.spawn(m);
  }

  /** Sends a signal to one instance as if something outside had (tests, `kill`); no restart logic changes. */
  signal(id: string, signal: NodeJS.Signals): void {
    this.find(id).child?.kill(signal);
  }

  /** Stops every instance and cancels pending restarts; resolves when all have exited. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.managed.map((m) => this.stopOne(m)));
    process.off("exit", this.killAll);
  }

  private find(id: string): Managed {
    const m = this.managed.find((x) => x.spec.id === id);
    if (!m) throw new Error(`no instance ${id}`);
    return m;
  }

  private spawn(m: Managed): void {
    const { id, port } = m.spec;
    const child = spawn(this.command.executable, [...this.command.args], {
      cwd: this.command.cwd,
      env: { ...this.options.env, PORT: String(port), INSTANCE_ID: id },
      // stdin is a pipe only so that the instance sees end-of-file if this process dies.
      stdio: ["pipe", "pipe", "pipe"],
      // Own process group: Ctrl-C in the terminal reaches only the supervisor, which then stops
      // the load balancer first and the instances after, instead of every process at once
      // (and instances dying before the supervisor knows it is stopping look like crashes).
      detached: true,
    });
    m.child = child;
    child.stdin?.on("error", () => {});
    m.status = "starting";
    m.startedAt = Date.now();
    if (child.stdout) pipeInstanceLog(child.stdout, { prefix: id, write: this.output });
    if (child.stderr) pipeInstanceLog(child.stderr, { prefix: id, write: this.output });
    child.once("spawn", () => {
      if (m.child === child && m.status === "starting") m.status = "running";
      this.log.info({ instance: id, pid: child.pid, port }, "instance started");
    });
    child.once("exit", (code, signal) => {
      if (m.child !== child) return;
      m.child = undefined;
      if (m.status === "stopping" || this.stopping) {
        m.status = "stopped";
        return;
      }
      this.onCrash(m, code, signal);
    });
    child.once("error", (err) => {
      this.log.error({ instance: id, error: err.message }, "instance could not be spawned");
    });
  }

  private onCrash(m: Managed, code: number | null, signal: NodeJS.Signals | null): void {
    const ranMs = Date.now() - m.startedAt;
    if (ranMs >= this.stableAfterMs) m.crashesInARow = 0;
    m.crashes += 1;
    m.crashesInARow += 1;
    const delayMs = Math.min(this.maxDelayMs, this.initialDelayMs * 2 ** (m.crashesInARow - 1));
    m.status = "waiting-restart";
    this.log.warn(
      { instance: m.spec.id, code, signal, ranMs, restartInMs: delayMs },
      "instance exited unexpectedly; restarting",
    );
    m.restartTimer = setTimeout(() => {
      m.restartTimer = undefined;
      if (!this.stopping && m.status === "waiting-restart") this.spawn(m);
    }, delayMs);
  }

  private async stopOne(m: Managed): Promise<void> {
    if (m.restartTimer) {
      clearTimeout(m.restartTimer);
      m.restartTimer = undefined;
    }
    const child = m.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      m.status = "stopped";
      return;
    }
    m.status = "stopping";
    await stopChild(child, this.stopTimeoutMs, () =>
      this.log.warn(
        { instance: m.spec.id, timeoutMs: this.stopTimeoutMs },
        "SIGKILL after timeout",
      ),
    );
    m.status = "stopped";
  }
}
