import type { FastifyInstance, FastifyRequest } from "fastify";
import fp from "fastify-plugin";

declare module "fastify" {
  interface FastifyRequest {
    /**
     * The request's store deadline: aborts REQUEST_DEADLINE_MS after the request arrived. Pass
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
    app.addHook("onRequest", (request, _reply, done) => {
      (request as Stamped)[kStart] = performance.now();
      done();
    });
    // An answered request needs no deadline: drop its timer instead of letting it run out.
    app.addHook("onResponse", (request, _reply, done) => {
      clearTimeout((request as Stamped)[kTimer]);
      done();
    });
    app.decorateRequest("deadline", function deadline(this: FastifyRequest): AbortSignal {
      const self = this as Stamped;
      if (self[kSignal] === undefined) {
        // Time spent receiving the body counts: the budget is the user's wait, not ours.
        const left = options.budgetMs - (performance.now() - self[kStart]);
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
