import type { TestContext } from "node:test";
import { type KeyringStore, type LocalStack, startLocalStack } from "@fleetline/local/local-stack";

/** Health checks every 250 ms, two strikes: an instance killed in a test leaves within ~0.5 s. */
export const healthCheck = { intervalMs: 250, timeoutMs: 500, unhealthyThreshold: 2 } as const;

/** The local stack on free ports, in memory, stopped when the test ends. */
export async function startStack(t: TestContext, keyring: KeyringStore): Promise<LocalStack> {
  const log: string[] = [];
  const stack = await startLocalStack({
    port: 0,
    instancePort: 0,
    inMemory: true,
    keyring,
    loadBalancer: {
      healthCheckIntervalMs: healthCheck.intervalMs,
      healthCheckTimeoutMs: healthCheck.timeoutMs,
      unhealthyThreshold: healthCheck.unhealthyThreshold,
    },
    output: (line) => log.push(line),
  });
  t.after(async () => {
    await stack.stop();
  });
  return stack;
}

/**
 * Makes the load balancer's next pick differ from `instance`: the round robin is strict, so
 * after a probe answered by `instance` the next request goes to another one. A browser may
 * have sent requests of its own (CSS, favicon) in between, which is why this asks instead of
 * counting; the tests still assert the instance that really answered.
 */
export async function steerAwayFrom(stack: LocalStack, instance: string): Promise<void> {
  for (let i = 0; i < 10; i += 1) {
    const res = await fetch(`${stack.url}/health`);
    await res.text();
    if (res.headers.get("x-served-by") === instance) return;
  }
  throw new Error(`the load balancer never picked ${instance}`);
}
