import type { FastifyInstance } from "fastify";
import type { Config } from "./config.js";

/** Both optional for callers without a full config (tests): every request, slow from 1 s. */
export type RequestLogConfig = Partial<Pick<Config, "REQUEST_LOG" | "SLOW_REQUEST_MS">>;

/**
 * What the web logs per request (web/README.md, "Logging"). "all": Fastify's own two lines per
 * request (the local stack turns them into an access log). "notable": a line only for the
 * requests worth an operator's attention — 4xx refusals (info), 5xx (error), anything slower
 * than SLOW_REQUEST_MS (warn) — because the ALB's access logs already record every request, and
 * a line per 2xx cost a third of the instance's CPU (bench/README.md).
 */
export function requestLogOptions(config: RequestLogConfig): { disableRequestLogging: boolean } {
  return { disableRequestLogging: (config.REQUEST_LOG ?? "all") !== "all" };
}

/** The "notable" hook; nothing when every request is logged already. */
export function installRequestLog(app: FastifyInstance, config: RequestLogConfig): void {
  if ((config.REQUEST_LOG ?? "all") === "all") return;
  const slowMs = config.SLOW_REQUEST_MS ?? 1000;
  app.addHook("onResponse", (request, reply, done) => {
    const status = reply.statusCode;
    const responseTime = reply.elapsedTime;
    const slow = responseTime >= slowMs;
    if (status >= 400 || slow) {
      // The fields and message of Fastify's own line, so one reader handles both modes.
      const line = {
        req: { method: request.method, url: request.url, remoteAddress: request.ip },
        res: { statusCode: status },
        responseTime,
        ...(slow ? { slow: true } : {}),
      };
      if (status >= 500) request.log.error(line, "request completed");
      else if (slow) request.log.warn(line, "request completed");
      else request.log.info(line, "request completed");
    }
    done();
  });
}
