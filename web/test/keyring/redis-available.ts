// One probe for every test file that needs the Redis on 127.0.0.1:6379, so they all skip (on a
// laptop without Redis) or fail (under CI=true) the same way and with the same message.
import { connect } from "node:net";

export const TEST_REDIS_HOST = "127.0.0.1";
export const TEST_REDIS_PORT = 6379;

let probe: Promise<string | undefined> | undefined;

/** Resolves to undefined when Redis answers PING, else to why not. Probes once per process. */
export function probeRedis(): Promise<string | undefined> {
  probe ??= new Promise((resolve) => {
    const socket = connect({ host: TEST_REDIS_HOST, port: TEST_REDIS_PORT });
    let reply = "";
    const done = (reason: string | undefined): void => {
      socket.destroy();
      resolve(reason);
    };
    socket.setTimeout(1000, () => done("no answer within 1 s"));
    socket.on("error", (err) => done(err.message));
    socket.on("connect", () => socket.write("PING\r\n"));
    socket.on("data", (chunk) => {
      reply += chunk.toString("latin1");
      if (reply.includes("\r\n")) {
        done(reply.startsWith("+PONG") ? undefined : `unexpected reply ${JSON.stringify(reply)}`);
      }
    });
  });
  return probe;
}

/**
 * The `skip` option for a node:test test or suite that needs Redis: false when Redis answers;
 * otherwise a message saying why and how to run it. Under CI=true an unreachable Redis throws
 * instead, failing the file, because CI must never pass by skipping these tests.
 */
export async function skipWithoutRedis(): Promise<string | false> {
  const reason = await probeRedis();
  if (reason === undefined) return false;
  const where = `Redis at ${TEST_REDIS_HOST}:${TEST_REDIS_PORT} is unreachable (${reason})`;
  if (process.env.CI === "true") {
    throw new Error(`${where}; CI=true requires it. Start Redis there before running the tests.`);
  }
  return `${where}; start one (redis-server, or docker run --rm -p 6379:6379 valkey/valkey) to run these tests`;
}
