import type { Benchmark } from "../context.js";
import { ratioTo } from "../context.js";
import { runLoad } from "../load.js";
import { cpuMicros, cpuPerRequest, cpuTimeMs, startLoadBalancerProcess } from "../processes.js";

/**
 * GET / through the local load balancer (its own process) with two instances, against one
 * instance direct. Every process here shares the machine's cores with the load generator, so on
 * a small machine the balancer's hop costs more than the second instance gives.
 */
export const loadBalanced: Benchmark = async (ctx) => {
  const second = await ctx.startWeb("bench-2");
  try {
    const lb = await startLoadBalancerProcess([
      { id: "bench-1", port: ctx.web.port },
      { id: "bench-2", port: second.port },
    ]);
    try {
      let cpuStart = 0;
      const load = await runLoad({
        onStart: () => {
          cpuStart = cpuTimeMs(lb.pid);
        },
        url: `http://127.0.0.1:${lb.port}/`,
        durationS: ctx.durationS,
        warmupS: ctx.warmupS,
        connections: ctx.connections,
      });
      const cpuMs = cpuTimeMs(lb.pid) - cpuStart;
      const cpuUs = cpuMicros(cpuMs, load.total);
      const instanceCpu = ctx.rows.get("web.home")?.cpuUs;
      const lbCpu = cpuPerRequest(cpuMs, load.total).replace("web ", "balancer ");
      const vsOne = ratioTo(ctx, "web.home", load.requestsPerSecond);
      const oneP99 = ctx.rows.get("web.home")?.p99Ms;
      return [
        {
          id: "lb.home",
          name: "GET / through the local LB, 2 instances",
          value: load.requestsPerSecond,
          unit: "req/s",
          p99Ms: load.p99Ms,
          ...(cpuUs !== undefined ? { cpuUs } : {}),
          ...vsOne,
          note: `${load.failed > 0 ? `${load.failed} failed requests; ` : ""}p99 ${load.p99Ms.toFixed(1)} ms vs ${oneP99?.toFixed(1) ?? "?"} ms direct (ratio ${oneP99 ? (load.p99Ms / oneP99).toFixed(2) : "?"}); ${load.total} requests; ${lbCpu}`,
        },
        ...(cpuUs !== undefined && instanceCpu !== undefined
          ? [
              {
                id: "lb.cpu",
                name: "balancer CPU per proxied request",
                value: cpuUs,
                unit: "µs",
                baseline: `an instance's CPU per GET / (${instanceCpu.toFixed(0)} µs)`,
                ratio: cpuUs / instanceCpu,
                target: "≤ 2.00",
                met: cpuUs / instanceCpu <= 2,
                note: "the balancer process's CPU during the run above, per request it proxied",
              },
            ]
          : []),
      ];
    } finally {
      await lb.stop();
    }
  } finally {
    await second.stop();
  }
};
