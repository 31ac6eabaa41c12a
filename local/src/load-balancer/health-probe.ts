import { request } from "node:http";

/** One health probe's outcome; `reason` is shown in logs when a target changes state. */
export interface ProbeResult {
  readonly ok: boolean;
  readonly reason: string;
}

/** What to probe and how long to wait. All fields required. */
export interface ProbeOptions {
  readonly host: string;
  readonly port: number;
  readonly path: string;
  readonly timeoutMs: number;
}

/**
 * One ALB-style health check: GET on its own short-lived connection (so a wedged keep-alive
 * socket cannot make a dead target look alive), success only on HTTP 200 — the target group's
 * default matcher — within the timeout.
 */
export function probeHealth(options: ProbeOptions): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (result: ProbeResult) => {
      if (settled) return;
      settled = true;
      resolve(result);
    };
    const req = request({
      host: options.host,
      port: options.port,
      path: options.path,
      method: "GET",
      agent: false,
      headers: { "user-agent": "ELB-HealthChecker/2.0", connection: "close" },
    });
    const timer = setTimeout(() => {
      settle({ ok: false, reason: `no answer within ${options.timeoutMs} ms` });
      req.destroy();
    }, options.timeoutMs);
    req.on("response", (res) => {
      res.resume();
      res.on("error", () => {});
      clearTimeout(timer);
      const status = res.statusCode ?? 0;
      settle(
        status === 200 ? { ok: true, reason: "200" } : { ok: false, reason: `HTTP ${status}` },
      );
    });
    req.on("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      settle({ ok: false, reason: err.code ?? err.message });
    });
    req.end();
  });
}
