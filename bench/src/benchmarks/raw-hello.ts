import type { Benchmark } from "../context.js";
import { runLoad } from "../load.js";
import { cpuMicros, cpuPerRequest, cpuTimeMs, startRawHello } from "../processes.js";

/** The ceiling: what node:http alone serves on this machine, measured now, not remembered. */
export const rawHello: Benchmark = async (ctx) => {
  const server = await startRawHello();
  try {
    let cpuStart = 0;
    const load = await runLoad({
      url: `http://127.0.0.1:${server.port}/`,
      durationS: ctx.durationS,
      warmupS: ctx.warmupS,
      connections: ctx.connections,
      onStart: () => {
        cpuStart = cpuTimeMs(server.pid);
      },
    });
    const cpuMs = cpuTimeMs(server.pid) - cpuStart;
    const cpu = cpuPerRequest(cpuMs, load.total).replace("web ", "");
    const cpuUs = cpuMicros(cpuMs, load.total);
    return [
      {
        id: "raw",
        name: "raw node:http hello world",
        value: load.requestsPerSecond,
        unit: "req/s",
        p99Ms: load.p99Ms,
        ...(cpuUs !== undefined ? { cpuUs } : {}),
        note: [cpu, load.failed > 0 ? `${load.failed} failed requests` : ""]
          .filter(Boolean)
          .join("; "),
      },
    ];
  } finally {
    await server.stop();
  }
};
