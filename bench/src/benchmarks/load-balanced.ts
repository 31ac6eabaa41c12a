import type { Benchmark } from "../context.js";
import { ratioTo } from "../context.js";
import { runLoad } from "../load.js";
import { cpuPerRequest, cpuTimeMs, startLoadBalancerProcess } from "../processes.js";

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
      const lbCpu = cpuPerRequest(cpuTimeMs(lb.pid) - cpuStart, load.total).replace(
        "web ",
        "balancer ",
      );
      const vsOne = ratioTo(ctx, "web.home", load.requestsPerSecond);
      const oneP99 = ctx.rows.get("web.home")?.p99Ms;
      return [
        {
          id: "lb.home",
          name: "GET / through the local LB, 2 instances",
          value: load.requestsPerSecond,
          unit: "req/s",
          p99Ms: load.p99Ms,
          ...vsOne,
          note: `${load.failed > 0 ? `${load.failed} failed requests; ` : ""}p99 ${load.p99Ms.toFixed(1)} ms vs ${oneP99?.toFixed(1) ?? "?"} ms direct (ratio ${oneP99 ? (load.p99Ms / oneP99).toFixed(2) : "?"}); ${load.total} requests; ${lbCpu}`,
        },
      ];
    } finally {
      await lb.stop();
    }
  } finally {
    await second.stop();
  }
};
