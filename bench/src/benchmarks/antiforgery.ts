import { issueToken, verifyToken } from "@fleetline/web/antiforgery";
import { createKeyStore, KeyRing } from "@fleetline/web/keyring";
import { newSessionId } from "@fleetline/web/session";
import pino from "pino";
import type { Benchmark } from "../context.js";
import type { BenchRow } from "../report.js";

interface Rate {
  /** Operations per second of wall-clock time. */
  readonly wall: number;
  /**
   * Operations per second of this process's CPU time: what one core does, whatever else the
   * machine is running (on a shared machine the wall-clock figure also counts time descheduled).
   */
  readonly cpu: number;
}

/** Calls `op` in batches until `seconds` pass. */
async function opsPerSecond(seconds: number, op: (i: number) => unknown): Promise<Rate> {
  const batch = 1000;
  let done = 0;
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  const end = started + seconds * 1000;
  while (performance.now() < end) {
    for (let i = 0; i < batch; i++) {
      const out = op(i);
      if (out instanceof Promise) await out;
    }
    done += batch;
    // Let the event loop run between batches (signals, timers); costs well under 1 %.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  const wallS = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu0);
  const cpuS = (used.user + used.system) / 1e6;
  return { wall: done / wallS, cpu: done / Math.max(cpuS, 1e-9) };
}

function rateNote(rate: Rate): string {
  return `per CPU-second; ${Math.round(rate.wall).toLocaleString("en-US")} ops/s wall-clock`;
}

/**
 * Anti-forgery tokens in this process, on one core: issue, verify (the async path the request
 * hook takes, key looked up through the ring), and the ring's cached key lookup alone.
 */
export const antiforgery: Benchmark = async (ctx) => {
  const logger = pino({ level: "silent" });
  const ring = await KeyRing.open({ store: createKeyStore({ kind: "memory", logger }), logger });
  try {
    const key = ring.signingKey();
    const session = newSessionId();
    const tokens = Array.from({ length: 1000 }, () => issueToken(key, session));
    const seconds = Math.max(0.5, Math.min(ctx.durationS, 2));
    // Warm the JIT on each path before measuring it.
    await opsPerSecond(0.2, () => issueToken(key, session));
    const issue = await opsPerSecond(seconds, () => issueToken(key, session));
    let refused = 0;
    const verify = async (i: number) => {
      const result = await verifyToken(ring, tokens[i % tokens.length], session);
      if (!result.ok) refused++;
    };
    await opsPerSecond(0.2, verify);
    const verified = await opsPerSecond(seconds, verify);
    await opsPerSecond(0.2, () => ring.find(key.id));
    const lookup = await opsPerSecond(seconds, () => ring.find(key.id));
    if (refused > 0) throw new Error(`${refused} genuine tokens were refused`);
    const rows: BenchRow[] = [
      {
        id: "af.issue",
        name: "anti-forgery token issue (in-process)",
        value: issue.cpu,
        unit: "ops/s",
        note: rateNote(issue),
      },
      {
        id: "af.verify",
        name: "anti-forgery token verify (in-process)",
        value: verified.cpu,
        unit: "ops/s",
        target: "≥ 100,000",
        met: verified.cpu >= 100_000,
        note: `${rateNote(verified)}; one session, as a returning browser: one HMAC-SHA256 per token (the signature; the session tag is remembered), two for a session not seen lately`,
      },
      {
        id: "keyring.find",
        name: "key-ring lookup by key id (cached)",
        value: lookup.cpu,
        unit: "ops/s",
        note: rateNote(lookup),
      },
    ];
    return rows;
  } finally {
    await ring.close();
  }
};
