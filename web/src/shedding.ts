import underPressure from "@fastify/under-pressure";
import type { FastifyInstance, FastifyRequest } from "fastify";
import fp from "fastify-plugin";

declare module "fastify" {
  interface FastifyContextConfig {
    /** The route waits on DynamoDB: shed it while too many store calls are in flight. */
    usesStore?: boolean;
    /** `false`: never shed (liveness and readiness must keep telling the truth under load). */
    shed?: boolean;
  }
}

/** A request refused at the door because the instance is overloaded; rendered as a 503 page. */
export class OverloadedError extends Error {
  override readonly name = "OverloadedError";
  readonly statusCode = 503;
  constructor(
    readonly pressure: "event-loop" | "store",
    readonly value?: number,
  ) {
    super(
      pressure === "event-loop"
        ? `event loop delay ${Math.round(value ?? 0)} ms`
        : "too many store calls in flight",
    );
  }
}

export interface SheddingOptions {
  /** Mean event-loop delay (ms) above which every sheddable request gets a 503; 0: off. */
  readonly maxEventLoopDelayMs: number;
  /** True while new store calls would be refused (the repository's in-flight cap). */
  readonly storeSaturated: () => boolean;
  /**
   * Window of the event-loop delay mean; default 1000 ms (under-pressure's own), so a single
   * slow tick (a module compiled, a GC pause) does not shed a whole window of requests.
   */
  readonly eventLoopSampleMs?: number;
  /** How often the store's saturation is sampled; default 100 ms. */
  readonly storeSampleMs?: number;
}

/**
 * Load shedding with @fastify/under-pressure: when the event loop lags or the store has too many
 * calls in flight, answer 503 with Retry-After at once, before reading the body or doing any work,
 * instead of queueing without bound. Store saturation only sheds routes that use the store; the
 * home page and static files keep working. The repository's own cap stays as the exact backstop,
 * since this check is sampled.
 */
export const sheddingPlugin = fp(
  async (app: FastifyInstance, options: SheddingOptions) => {
    await app.register(underPressure, {
      ...(options.maxEventLoopDelayMs > 0 && { maxEventLoopDelay: options.maxEventLoopDelayMs }),
      sampleInterval: options.eventLoopSampleMs ?? 1000,
      healthCheck: async () => !options.storeSaturated(),
      healthCheckInterval: options.storeSampleMs ?? 100,
      // Rejecting is how the handler sheds: under-pressure then passes the error to Fastify's
      // error handler (our 503 page); resolving lets the request through.
      pressureHandler: async (
        request: FastifyRequest,
        _reply: unknown,
        type: string,
        value: number | undefined,
      ) => {
        const config = request.routeOptions.config;
        if (config.shed === false) return;
        if (type === underPressure.TYPE_HEALTH_CHECK) {
          if (config.usesStore === true) throw new OverloadedError("store");
          return;
        }
        throw new OverloadedError("event-loop", value);
      },
    });
  },
  { name: "shedding" },
);
