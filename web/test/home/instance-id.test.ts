import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { hostname } from "node:os";
import { test } from "node:test";
import { parseCacheAddress } from "../../src/aws-parameters.js";
import { resolveInstanceId } from "../../src/home/instance-id.js";

// No local server speaks the EC2 metadata protocol, so this one plays IMDSv2: it insists on the
// session token the way EC2 does when HttpTokens=required.
async function fakeImds(t: import("node:test").TestContext) {
  const server = createServer((req, res) => {
    if (req.method === "PUT" && req.url === "/latest/api/token") {
      res.end("token-123");
    } else if (
      req.url === "/latest/meta-data/instance-id" &&
      req.headers["x-aws-ec2-metadata-token"] === "token-123"
    ) {
      res.end("i-0abc123def4567890");
    } else {
      res.statusCode = 401;
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

test("INSTANCE_ID wins", async () => {
  assert.equal(await resolveInstanceId({ configured: "web-7" }), "web-7");
});

test("on EC2 the instance id comes from IMDSv2 with a session token", async (t) => {
  const endpoint = await fakeImds(t);
  assert.equal(await resolveInstanceId({ metadataEndpoint: endpoint }), "i-0abc123def4567890");
});

test("off EC2 it falls back to the host name within the timeout", async () => {
  const started = Date.now();
  // 192.0.2.0/24 is TEST-NET-1: never routed, so the request can only time out.
  const id = await resolveInstanceId({ metadataEndpoint: "http://192.0.2.1", timeoutMs: 200 });
  assert.equal(id, hostname());
  assert.ok(Date.now() - started < 2000);
});

test("the cache address parameter is host:port", () => {
  assert.deepEqual(parseCacheAddress("master.fleetline.abc.euw3.cache.amazonaws.com:6379"), {
    host: "master.fleetline.abc.euw3.cache.amazonaws.com",
    port: 6379,
  });
  assert.throws(() => parseCacheAddress("no-port"), /expected host:port/);
  assert.throws(() => parseCacheAddress("h:99999"), /expected host:port/);
});
