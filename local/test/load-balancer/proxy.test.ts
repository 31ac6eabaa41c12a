import assert from "node:assert/strict";
import { createServer, type Socket } from "node:net";
import { describe, type TestContext, test } from "node:test";
import { LoadBalancer, type LoadBalancerOptions } from "../../src/load-balancer.js";
import { send, startServer } from "../support/http.js";

/**
 * A raw TCP target speaking just enough HTTP/1.1. Each connection answers its first request
 * (kept alive, no Keep-Alive hint); a request arriving on a connection that has answered before
 * is never read: the target closes the connection instead, as a server does when its idle
 * timeout fires just as the balancer reuses the socket. `holdFirst` answers nothing until that
 * many first requests are in (once; later ones are answered at once), so that the balancer's
 * agent ends up with that many pooled sockets.
 */
async function closingTarget(t: TestContext, holdFirst: number) {
  const counts = { served: 0, closedUnread: 0 };
  const held: Socket[] = [];
  let warming = holdFirst;
  const answer = (socket: Socket) => {
    counts.served += 1;
    socket.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\nx-served-by: t\r\n\r\nok");
  };
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let answered = false;
    socket.on("data", (chunk: Buffer) => {
      if (answered) {
        counts.closedUnread += 1;
        socket.end();
        return;
      }
      answered = true;
      // Health checks (their own connection each) are answered at once.
      if (chunk.toString("latin1").startsWith("GET /health ")) return answer(socket);
      if (warming === 0) return answer(socket);
      held.push(socket);
      if (held.length < warming) return;
      warming = 0;
      for (const s of held.splice(0)) answer(s);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const address = server.address();
  assert.ok(address && typeof address === "object");
  return { port: address.port, counts };
}

async function startLb(t: TestContext, options: LoadBalancerOptions = {}) {
  const lb = new LoadBalancer({
    healthCheckIntervalMs: 40,
    healthCheckTimeoutMs: 200,
    healthyThreshold: 1,
    ...options,
  });
  t.after(() => lb.close());
  const port = await lb.listen(0);
  return { lb, port };
}

describe("ReverseProxy", { timeout: 30_000 }, () => {
  test("a GET on a keep-alive socket the target closed as it was reused is retried once on a fresh connection", async (t) => {
    const { lb, port } = await startLb(t);
    const target = await closingTarget(t, 3);
    lb.register({ id: "t", host: "127.0.0.1", port: target.port });
    await lb.waitForHealthy("t", 2000);
    // Three at once: the agent opens three connections, all idle and pooled afterwards.
    const warm = await Promise.all([send(port, "/a"), send(port, "/b"), send(port, "/c")]);
    assert.deepEqual(
      warm.map((r) => r.status),
      [200, 200, 200],
    );
    const before = { ...target.counts };

    const reply = await send(port, "/again");
    assert.equal(reply.status, 200, reply.body.toString());
    assert.equal(reply.body.toString(), "ok");
    // One pooled socket met the close; the retry went on a new connection, not on one of the
    // two other pooled sockets (just as stale when a target has restarted).
    assert.deepEqual(
      {
        closedUnread: target.counts.closedUnread - before.closedUnread,
        served: target.counts.served - before.served,
      },
      { closedUnread: 1, served: 1 },
    );
  });

  test("a POST with a body on a keep-alive socket the target closed as it was reused is not sent again", async (t) => {
    const { lb, port } = await startLb(t);
    const target = await closingTarget(t, 1);
    lb.register({ id: "t", host: "127.0.0.1", port: target.port });
    await lb.waitForHealthy("t", 2000);
    assert.equal((await send(port, "/warm")).status, 200);
    const before = { ...target.counts };
    const reply = await send(port, "/users", { method: "POST", body: "firstName=A" });
    assert.equal(reply.status, 502);
    assert.deepEqual(
      {
        closedUnread: target.counts.closedUnread - before.closedUnread,
        served: target.counts.served - before.served,
      },
      { closedUnread: 1, served: 0 },
    );
  });

  test("a reused socket waits the whole target timeout, not the idle time the target's Keep-Alive hint allows", async (t) => {
    const { lb, port } = await startLb(t, { targetTimeoutMs: 3000 });
    let requests = 0;
    const sockets = new Set<object>();
    const target = await startServer(t, (req, res) => {
      if (req.url === "/health") {
        res.end("ok");
        return;
      }
      requests += 1;
      sockets.add(req.socket);
      // "timeout=2": the agent keeps the idle socket 1 s (the hint less Node's 1 s margin).
      const answer = () => res.writeHead(200, { "keep-alive": "timeout=2" }).end("slow but here");
      if (requests === 1) answer();
      else setTimeout(answer, 1500);
    });
    lb.register({ id: "hinted", host: "127.0.0.1", port: target.port });
    await lb.waitForHealthy("hinted", 2000);
    assert.equal((await send(port, "/warm")).status, 200);
    const reply = await send(port, "/slow");
    assert.equal(reply.status, 200, reply.body.toString());
    assert.equal(sockets.size, 1, "the second request went on the pooled socket");
  });
});
