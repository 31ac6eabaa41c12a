import type { FastifyInstance, FastifyRequest } from "fastify";
import fp from "fastify-plugin";

declare module "fastify" {
  interface FastifyRequest {
    /**
     * The request's store deadline: aborts REQUEST_DEADLINE_MS after its body was read. Pass
     * it to every store call of the request, so all of them together, retries included, end in
     * time for a 503 page instead of a hung one. Made on first use (most requests never need it).
     */
    deadline(): AbortSignal;
  }
}

export interface DeadlineOptions {
  readonly budgetMs: number;
}

const kStart = Symbol("fleetline.requestStart");
const kSignal = Symbol("fleetline.deadline");
const kTimer = Symbol("fleetline.deadlineTimer");

type Stamped = FastifyRequest & {
  [kStart]: number;
  [kSignal]: AbortSignal | undefined;
  [kTimer]: NodeJS.Timeout | undefined;
};

/** One total budget per incoming request for everything it waits on downstream. */
export const deadlinePlugin = fp(
  async (app: FastifyInstance, options: DeadlineOptions) => {
    app.decorateRequest(kStart, 0);
    app.decorateRequest(kSignal, undefined);
    app.decorateRequest(kTimer, undefined);
    const stamp = (request: FastifyRequest, _reply: unknown, done: () => void) => {
      (request as Stamped)[kStart] = performance.now();
      done();
    };
    // An answered request needs no deadline: drop its timer instead of letting it run out.
    const clear = (request: FastifyRequest, _reply: unknown, done: () => void) => {
      clearTimeout((request as Stamped)[kTimer]);
      done();
    };
    // Only routes that wait on the store pay for the clock and the timer; the home page, static
    // files and health checks are as fast as before.
    app.addHook("onRoute", (route) => {
      if (route.config?.usesStore !== true) return;
      // From the moment the body has been read: a slow upload is the client's time (Node's
      // requestTimeout bounds it), and must not be mistaken for a store that did not answer.
      route.preValidation = [stamp, ...toArray(route.preValidation)];
      route.onResponse = [...toArray(route.onResponse), clear];
    });
    app.decorateRequest("deadline", function deadline(this: FastifyRequest): AbortSignal {
      const self = this as Stamped;
      if (self[kSignal] === undefined) {
        const now = performance.now();
        // A route that did not declare usesStore has no stamp: its budget starts at first use.
        const left = options.budgetMs - (now - (self[kStart] || now));
        const controller = new AbortController();
        const reason = new Error(`request deadline of ${options.budgetMs} ms passed`);
        reason.name = "DeadlineError";
        if (left <= 0) controller.abort(reason);
        else {
          self[kTimer] = setTimeout(() => controller.abort(reason), left);
          // A finished request must not keep the process (or a test) alive until its deadline.
          self[kTimer].unref();
        }
        self[kSignal] = controller.signal;
      }
      return self[kSignal];
    });
  },
  { name: "deadline" },
);

function toArray<T>(value: T | readonly T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? [...(value as readonly T[])] : [value as T];
}
