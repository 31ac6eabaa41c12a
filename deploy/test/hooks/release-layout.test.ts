import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { shimDir } from "../../src/rehearse/local-instance.js";
import { repoRoot, tempDir } from "../support.js";

const hooks = join(repoRoot, "deploy", "hooks");

/** Plays one deployment's BeforeInstall, Install (the agent's copy) and AfterInstall. */
function install(root: string, deploymentId: string, label: string) {
  const env = {
    PATH: `${shimDir}:/usr/bin:/bin`,
    FLEETLINE_ROOT: root,
    DEPLOYMENT_ID: deploymentId,
  };
  const run = (script: string, event: string) =>
    spawnSync(join(hooks, script), [], {
      encoding: "utf8",
      env: { ...env, LIFECYCLE_EVENT: event },
      timeout: 20_000,
    });
  const before = run("before-install.sh", "BeforeInstall");
  assert.equal(before.status, 0, before.stderr);
  const incoming = join(root, "opt", "fleetline", "incoming");
  for (const part of ["appspec.yml", "hooks", "systemd", "nginx"]) {
    cpSync(join(repoRoot, "deploy", part), join(incoming, part), { recursive: true });
  }
  mkdirSync(join(incoming, "app", "dist"), { recursive: true });
  writeFileSync(join(incoming, "app", "dist", "server.mjs"), "// stand-in: not started here\n");
  writeFileSync(join(incoming, "app", "REVISION"), `${label}\n`);
  const after = run("after-install.sh", "AfterInstall");
  assert.equal(after.status, 0, after.stderr);
  return after.stderr;
}

function bootstrap(t: Parameters<typeof tempDir>[0]): string {
  const root = tempDir(t, "release-root");
  mkdirSync(join(root, "etc", "fleetline"), { recursive: true });
  writeFileSync(join(root, "etc", "fleetline", "web.env"), "PORT=5000\n");
  return root;
}

test("AfterInstall makes a versioned release, switches current, keeps exactly one previous", (t) => {
  const root = bootstrap(t);
  const app = join(root, "opt", "fleetline");
  install(root, "d-AAAAAAAA1", "one");
  assert.equal(readlinkSync(join(app, "current")), "releases/d-AAAAAAAA1");
  assert.equal(existsSync(join(app, "previous")), false, "no previous on a first install");
  assert.ok(existsSync(join(root, "etc", "systemd", "system", "fleetline-web.service")));
  assert.ok(existsSync(join(root, "etc", "nginx", "conf.d", "fleetline.conf")));

  install(root, "d-AAAAAAAA2", "two");
  const log = install(root, "d-AAAAAAAA3", "three");
  assert.equal(readlinkSync(join(app, "current")), "releases/d-AAAAAAAA3");
  assert.equal(readlinkSync(join(app, "previous")), "releases/d-AAAAAAAA2");
  assert.deepEqual(readdirSync(join(app, "releases")).sort(), ["d-AAAAAAAA2", "d-AAAAAAAA3"]);
  assert.match(log, /pruned release d-AAAAAAAA1/);
  assert.equal(readFileSync(join(app, "current", "app", "REVISION"), "utf8"), "three\n");
  assert.match(log, /root prefix set: proxy config copied, nginx itself is not touched/);
});

test("running the install hooks again for the same deployment overwrites and succeeds", (t) => {
  const root = bootstrap(t);
  const app = join(root, "opt", "fleetline");
  install(root, "d-BBBBBBBB1", "first");
  install(root, "d-BBBBBBBB2", "second try");
  install(root, "d-BBBBBBBB2", "second retry");
  assert.equal(readlinkSync(join(app, "current")), "releases/d-BBBBBBBB2");
  assert.equal(
    readlinkSync(join(app, "previous")),
    "releases/d-BBBBBBBB1",
    "a retry keeps the real previous",
  );
  assert.equal(readFileSync(join(app, "current", "app", "REVISION"), "utf8"), "second retry\n");
});

test("BeforeInstall fails with a clear message when the bootstrap never wrote the environment file", (t) => {
  const root = tempDir(t, "no-bootstrap");
  const res = spawnSync(join(hooks, "before-install.sh"), [], {
    encoding: "utf8",
    env: {
      PATH: `${shimDir}:/usr/bin:/bin`,
      FLEETLINE_ROOT: root,
      LIFECYCLE_EVENT: "BeforeInstall",
    },
  });
  assert.equal(res.status, 1);
  assert.match(
    res.stderr,
    /FAILED: .*etc\/fleetline\/web\.env is missing: the instance bootstrap \(user data\) writes it/,
  );
});
