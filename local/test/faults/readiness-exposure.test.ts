import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { startWebProcess } from "@fleetline/web/testing/web-process";
import { freePort } from "../../src/ports.js";
import { REPO_ROOT, startDynamo } from "./support/cluster.js";
import { operatorCookie } from "./support/operator-session.js";

// The EC2 path for real: deploy/nginx/fleetline.conf in a private nginx in front of a web
// process. Readiness must answer on 127.0.0.1 (ValidateService) and not from any other address
// (the ALB's), and never carry error text.
const NGINX = "/usr/sbin/nginx";
const hasNginx = spawnSync(NGINX, ["-v"]).status === 0;
/** An address of this machine that is not loopback: a request to it arrives from it, like the ALB's. */
const outside = Object.values(networkInterfaces())
  .flat()
  .find((a) => a && a.family === "IPv4" && !a.internal)?.address;
const skip = !hasNginx
  ? "nginx is not installed (apt-get install nginx-light)"
  : outside === undefined
    ? "no non-loopback IPv4 address to play the ALB from"
    : false;
// .ci/run installs nginx-light: under CI a missing nginx is a broken machine, not a reason to skip.
if (skip && process.env.CI === "true" && !hasNginx) {
  throw new Error(`readiness-exposure: ${skip}; .ci/run installs it`);
}

async function startNginx(dir: string, port: number, webPort: number): Promise<ChildProcess> {
  const site = readFileSync(join(REPO_ROOT, "deploy/nginx/fleetline.conf"), "utf8")
    .replace("listen 80 default_server;", `listen 0.0.0.0:${port} default_server;`)
    .replace("listen [::]:80 default_server;", "")
    .replace("server 127.0.0.1:5000;", `server 127.0.0.1:${webPort};`);
  assert.match(
    site,
    new RegExp(`listen 0\\.0\\.0\\.0:${port}`),
    "the test must rewrite the listen line",
  );
  writeFileSync(join(dir, "fleetline.conf"), site);
  for (const sub of ["body", "proxy", "fastcgi", "uwsgi", "scgi"]) mkdirSync(join(dir, sub));
  writeFileSync(
    join(dir, "nginx.conf"),
    `daemon off; master_process off; pid ${dir}/nginx.pid; error_log ${dir}/error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  include ${dir}/fleetline.conf;
}
`,
  );
  const check = spawnSync(NGINX, ["-t", "-q", "-p", dir, "-c", join(dir, "nginx.conf")], {
    encoding: "utf8",
  });
  assert.equal(check.status, 0, `nginx -t: ${check.stderr}`);
  const child = spawn(NGINX, ["-p", dir, "-c", join(dir, "nginx.conf")], { stdio: "ignore" });
  for (let i = 0; i < 50; i++) {
    try {
      await fetch(`http://127.0.0.1:${port}/health`);
      return child;
    } catch {
      await delay(100);
    }
  }
  throw new Error(`nginx did not listen: ${readFileSync(join(dir, "error.log"), "utf8")}`);
}

async function get(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(8000) });
  return { status: res.status, body: await res.text() };
}

test("through nginx, /health/ready answers 127.0.0.1 with ok/down only and is refused to every other address, however it is spelled", {
  skip,
  timeout: 60_000,
}, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "fleetline-nginx-"));
  const dynamo = await startDynamo(join(dir, "data"));
  const web = await startWebProcess({
    INSTANCE_ID: "nginx-1",
    DYNAMODB_ENDPOINT: dynamo.endpoint,
    USERS_TABLE: "Users",
    KEYRING_STORE: "file",
    KEYRING_DIR: join(dir, "keys"),
    // As on EC2: nginx on this host is the trusted proxy.
    TRUST_PROXY: "127.0.0.1",
  });
  const port = await freePort();
  const nginx = await startNginx(dir, port, web.port);
  t.after(async () => {
    nginx.kill("SIGTERM");
    if (nginx.exitCode === null) await once(nginx, "exit");
    await web.stop();
    await dynamo.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  // ValidateService's request: curl on the instance, through nginx.
  const local = await get(`http://127.0.0.1:${port}/health/ready`);
  assert.equal(local.status, 200, local.body);
  assert.deepEqual(JSON.parse(local.body).checks, { dynamodb: "ok", keystore: "ok" });

  // The ALB path: the same request from another address, plain and in disguise, even from a
  // signed-in operator (anonymous requests to a non-public path would only meet the sign-in gate).
  // nginx normalises these to /health/ready and refuses them itself (403); the last two are
  // other paths to nginx and unknown routes to the web (404).
  const cookie = await operatorCookie({ kind: "file", dir: join(dir, "keys") });
  const refusedByNginx = [
    "/health/ready",
    "/health/ready?verbose=1",
    "/health/%72eady",
    "//health/ready",
    "/health/./ready",
  ];
  for (const path of [...refusedByNginx, "/health/ready/", "/HEALTH/READY"]) {
    for (const headers of [{ cookie }, { cookie, "x-forwarded-for": "127.0.0.1" }] as Record<
      string,
      string
    >[]) {
      const res = await get(`http://${outside}:${port}${path}`, headers);
      const want = refusedByNginx.includes(path) ? 403 : 404;
      assert.equal(
        res.status,
        want,
        `${path} ${JSON.stringify(headers)}: ${res.body.slice(0, 200)}`,
      );
      assert.doesNotMatch(res.body, /dynamodb|keystore/, `${path} leaked readiness`);
    }
  }
  // The ALB's own health check and the site still pass.
  assert.equal((await get(`http://${outside}:${port}/health`)).status, 200);
  assert.equal((await get(`http://${outside}:${port}/`)).status, 200);

  // Down: ok/down per dependency, no error text (addresses, codes; on AWS, account and role).
  await dynamo.stop();
  const down = await get(`http://127.0.0.1:${port}/health/ready`);
  assert.equal(down.status, 503);
  assert.deepEqual(JSON.parse(down.body).checks, { dynamodb: "down", keystore: "ok" });
  assert.doesNotMatch(down.body, /ECONN|127\.0\.0\.1|refused|Error|:\d{2,5}/);
});
