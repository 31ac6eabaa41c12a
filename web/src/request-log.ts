import { type FastifyReply, type FastifyRequest, LogController } from "fastify";
import type { Config } from "./config.js";

/** Both optional for callers without a full config (tests): every request, slow from 1 s. */
export type RequestLogConfig = Partial<Pick<Config, "REQUEST_LOG" | "SLOW_REQUEST_MS">>;

/**
 * "notable": a line only for the requests worth an operator's attention — 4xx refusals (info),
 * 5xx and errored responses (error), anything slower than SLOW_REQUEST_MS (warn). The ALB's
 * access logs already record every request, and a line per 2xx cost a third of an instance's
 * CPU (bench/README.md). Fastify's other lines (its error handler, stream errors) are kept.
 */
class NotableRequestLog extends LogController {
  readonly #slowMs: number;

  constructor(slowMs: number) {
    super();
    this.#slowMs = slowMs;
  }

  override incomingRequest(): void {}

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
  ): void {
    const status = reply.statusCode;
    const responseTime = reply.elapsedTime;
    const slow = responseTime >= this.#slowMs;
    if (!error && status < 400 && !slow) return;
    // Fastify's field names and message, so one query reads both modes.
    const line = {
      req: { method: request.method, url: request.url, remoteAddress: request.ip },
      res: { statusCode: status },
      responseTime,
      ...(slow ? { slow: true } : {}),
      ...(error ? { err: error } : {}),
    };
    if (error || status >= 500) reply.log.error(line, "request completed");
    else if (slow) reply.log.warn(line, "request completed");
    else reply.log.info(line, "request completed");
  }
}

/**
 * Fastify options for what the web logs per request (web/README.md, "Logging"): "all" is
 * Fastify's own two lines per request (the local stack turns them into an access log).
 */
export function requestLogOptions(config: RequestLogConfig): { logController?: LogController } {
  if ((config.REQUEST_LOG ?? "all") === "all") return {};
  return { logController: new NotableRequestLog(config.SLOW_REQUEST_MS ?? 1000) };
}
