// The rehearsal's agent against what the real CodeDeploy agent (1.8.1) was seen to do
// (/work/shared/ARCHITECTURE.md, "The real CodeDeploy agent"), on tiny script-only revisions.
import assert from "node:assert/strict";
import {
  chmodSync,
  chownSync,
  existsSync,
  readdirSync,
  readFileSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import {
  archivesKept,
  deployToInstance,
  type EventRecord,
  type S3Location,
} from "../../src/rehearse/codedeploy-agent.js";
import type { Revision } from "../../src/rehearse/deployment.js";
import { newDeploymentId } from "../../src/rehearse/lifecycle.js";
import { type LocalInstance, webUser } from "../../src/rehearse/local-instance.js";
import {
  AGENT_LIFECYCLE,
  repoRoot,
  type SmallFleet,
  scriptRevision,
  smallAppspec,
  smallFleet,
  tempDir,
} from "../support.js";

const groupId = "0c0ffee0-0000-4000-8000-000000000001";

function deploy(
  fleet: SmallFleet,
  revision: Revision,
  extra: { s3?: S3Location; onEvent?: (record: EventRecord) => void } = {},
) {
  const instance = fleet.instances[0] as LocalInstance;
  return deployToInstance({
    instance,
    bundleDir: revision.bundleDir,
    identity: {
      deploymentId: newDeploymentId(),
      applicationName: "fleetline",
      deploymentGroupName: "fleetline-test",
      deploymentGroupId: groupId,
    },
    loadBalancer: fleet.loadBalancer,
    allowTrafficTimeoutMs: 5000,
    ...extra,
  });
}

async function setup(t: TestContext) {
  const fleet = await smallFleet(t);
  const dir = tempDir(t, "agent-revisions");
  const instance = fleet.instances[0] as LocalInstance;
  return { fleet, dir, instance, root: instance.root };
}

const eventNames = [...AGENT_LIFECYCLE];

test("every event runs in the agent's order, the first deployment skips the previous revision's events", async (t) => {
  const { fleet, dir } = await setup(t);
  const first = await deploy(
    fleet,
    scriptRevision(join(dir, "a"), "a", { files: { "hooks/ApplicationStop.sh": "true" } }),
  );
  assert.equal(first.succeeded, true, first.failed?.message);
  assert.deepEqual(
    first.events.map((e) => e.event),
    eventNames,
  );
  const stop = first.events.find((e) => e.event === "ApplicationStop");
  assert.equal(stop?.status, "Skipped");
  assert.match(stop?.message ?? "", /first deployment/);
  const second = await deploy(fleet, scriptRevision(join(dir, "b"), "b"));
  assert.deepEqual(
    second.events.map((e) => e.event),
    eventNames,
  );
  assert.equal(second.events.find((e) => e.event === "ApplicationStop")?.status, "Succeeded");
});

test("the last successful revision is the one whose Install finished: after a failed ValidateService, its ApplicationStop runs next", async (t) => {
  const { fleet, dir, root } = await setup(t);
  const stop = (label: string) => `echo "stop of ${label}" >> "$FLEETLINE_ROOT/stops.log"`;
  const a = scriptRevision(join(dir, "a"), "a", {
    files: { "hooks/ApplicationStop.sh": stop("a") },
  });
  const b = scriptRevision(join(dir, "b"), "b", {
    files: { "hooks/ApplicationStop.sh": stop("b"), "hooks/ValidateService.sh": "exit 1" },
  });
  const c = scriptRevision(join(dir, "c"), "c", {
    files: { "hooks/ApplicationStop.sh": stop("c") },
  });
  assert.equal((await deploy(fleet, a)).succeeded, true);
  const failed = await deploy(fleet, b);
  assert.equal(failed.failed?.event, "ValidateService");
  const next = await deploy(fleet, c);
  assert.equal(next.succeeded, true, next.failed?.message);
  assert.deepEqual(readFileSync(join(root, "stops.log"), "utf8").split("\n").filter(Boolean), [
    "stop of a",
    "stop of b",
  ]);
});

test("runas: a hook runs as root through root's shell, and as the bootstrap's nologin user it fails", async (t) => {
  const { fleet, dir, root } = await setup(t);
  const withRunas = (user: string) =>
    smallAppspec([]) +
    `  BeforeInstall:\n    - location: hooks/whoami.sh\n      timeout: 10\n      runas: ${user}\n`;
  const files = {
    "hooks/whoami.sh": 'id -un > "$FLEETLINE_ROOT/whoami"; echo "$0" > "$FLEETLINE_ROOT/argv0"',
  };
  const asRoot = await deploy(
    fleet,
    scriptRevision(join(dir, "root"), "root", { appspec: withRunas("root"), files }),
  );
  assert.equal(asRoot.succeeded, true, asRoot.failed?.message);
  assert.equal(readFileSync(join(root, "whoami"), "utf8").trim(), "root");

  const asWeb = await deploy(
    fleet,
    scriptRevision(join(dir, "web"), "web", { appspec: withRunas(webUser.name), files }),
  );
  assert.equal(asWeb.failed?.event, "BeforeInstall");
  assert.equal(
    asWeb.failed?.message,
    `Script at specified location: hooks/whoami.sh run as user ${webUser.name} failed with exit code 1`,
  );
  assert.ok(
    asWeb.failed?.output.some((l) => l.includes("This account is currently not available")),
    asWeb.failed?.output.join("\n"),
  );
});

test("the rehearsal's web user has the shell the instance bootstrap gives it", () => {
  const bootstrap = readFileSync(join(repoRoot, "infra", "lib", "instance-bootstrap.sh"), "utf8");
  const useradd = bootstrap.split("\n").find((l) => /\buseradd\b.*\bfleetline\b/.test(l));
  assert.ok(useradd, "the bootstrap creates the fleetline user");
  assert.equal(/--shell\s+(\S+)/.exec(useradd)?.[1], webUser.shell);
});

test("a hook whose background child keeps stdout open fails at its timeout", async (t) => {
  const { fleet, dir } = await setup(t);
  const appspec = `${smallAppspec([])}  AfterInstall:\n    - location: hooks/leak.sh\n      timeout: 1\n`;
  const started = Date.now();
  const result = await deploy(
    fleet,
    scriptRevision(join(dir, "leak"), "leak", {
      appspec,
      files: { "hooks/leak.sh": "sleep 30 &\necho started" },
    }),
  );
  const took = Date.now() - started;
  assert.equal(result.failed?.event, "AfterInstall");
  assert.match(
    result.failed?.message ?? "",
    /^Script at specified location: hooks\/leak\.sh failed to close STDOUT/,
  );
  assert.ok(result.failed?.output.includes("stdout: started"));
  assert.ok(took >= 1000 && took < 4000, `failed at the 1 s timeout (${took} ms)`);
});

test("hooks get the agent's environment, the five deployment variables and BUNDLE_* for an S3 revision, in the agent's working directory", async (t) => {
  const { fleet, dir, root } = await setup(t);
  process.env.FLEETLINE_AGENT_TEST = "inherited from the agent";
  t.after(() => {
    delete process.env.FLEETLINE_AGENT_TEST;
  });
  const revision = scriptRevision(join(dir, "env"), "env", {
    files: { "hooks/BeforeInstall.sh": 'env > "$FLEETLINE_ROOT/env"; pwd > "$FLEETLINE_ROOT/pwd"' },
  });
  const s3 = { bucket: "artifacts", key: "fleetline/abc.zip", version: "v-3", etag: "e-tag" };
  const result = await deploy(fleet, revision, { s3 });
  assert.equal(result.succeeded, true, result.failed?.message);
  const env = Object.fromEntries(
    readFileSync(join(root, "env"), "utf8")
      .split("\n")
      .filter((l) => l.includes("="))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
  assert.equal(env.FLEETLINE_AGENT_TEST, "inherited from the agent");
  assert.equal(env.LIFECYCLE_EVENT, "BeforeInstall");
  assert.match(env.DEPLOYMENT_ID ?? "", /^d-[A-Z0-9]{9}$/);
  assert.equal(env.APPLICATION_NAME, "fleetline");
  assert.equal(env.DEPLOYMENT_GROUP_NAME, "fleetline-test");
  assert.equal(env.DEPLOYMENT_GROUP_ID, groupId);
  assert.deepEqual(
    [env.BUNDLE_BUCKET, env.BUNDLE_KEY, env.BUNDLE_VERSION, env.BUNDLE_ETAG],
    ["artifacts", "fleetline/abc.zip", "v-3", "e-tag"],
  );
  assert.equal(readFileSync(join(root, "pwd"), "utf8").trim(), process.cwd());
});

test("a non-executable script is made executable with a warning; a missing one fails with the agent's message", async (t) => {
  const { fleet, dir, root } = await setup(t);
  const plain = await deploy(
    fleet,
    scriptRevision(join(dir, "plain"), "plain", {
      files: { "hooks/AfterInstall.sh": 'touch "$FLEETLINE_ROOT/ran"' },
      plain: ["hooks/AfterInstall.sh"],
    }),
  );
  assert.equal(plain.succeeded, true, plain.failed?.message);
  assert.ok(existsSync(join(root, "ran")));
  const after = plain.events.find((e) => e.event === "AfterInstall");
  assert.ok(
    after?.output.some((l) =>
      /hooks\/AfterInstall\.sh is not executable\. +Trying to make it executable/.test(l),
    ),
    after?.output.join("\n"),
  );

  const appspec = `${smallAppspec([])}  AfterInstall:\n    - location: hooks/nowhere.sh\n`;
  const missing = await deploy(fleet, scriptRevision(join(dir, "missing"), "missing", { appspec }));
  assert.equal(missing.failed?.event, "AfterInstall");
  assert.equal(
    missing.failed?.message,
    "Script does not exist at specified location: hooks/nowhere.sh",
  );
});

test("Install rejects unknown event names and two sources copied to one destination", async (t) => {
  const { fleet, dir } = await setup(t);
  const unknown = await deploy(
    fleet,
    scriptRevision(join(dir, "unknown"), "unknown", {
      appspec: `${smallAppspec([])}  AfterInstal:\n    - location: hooks/x.sh\n`,
    }),
  );
  assert.equal(unknown.failed?.event, "Install");
  assert.match(unknown.failed?.message ?? "", /AfterInstal/);

  const twice = await deploy(
    fleet,
    scriptRevision(join(dir, "twice"), "twice", {
      appspec: [
        "version: 0.0",
        "os: linux",
        "files:",
        "  - source: one/config.txt",
        "    destination: /etc/small",
        "  - source: two/config.txt",
        "    destination: /etc/small",
        "",
      ].join("\n"),
      files: { "one/config.txt": "1", "two/config.txt": "2" },
    }),
  );
  assert.equal(twice.failed?.event, "Install");
  assert.match(
    twice.failed?.message ?? "",
    /two source files .* trying to copy to the same destination/,
  );
});

test("Install keeps mode, times and owner, applies permissions, and the next Install removes what it created, folders once empty", async (t) => {
  const { fleet, dir, root } = await setup(t);
  const first = scriptRevision(join(dir, "first"), "first", {
    appspec: `${smallAppspec([])}permissions:\n  - object: /opt/small/conf\n    pattern: "*.env"\n    owner: ${webUser.name}\n    mode: 640\n    type:\n      - file\n`,
    files: {
      "app/bin/tool": "#!/bin/sh\n",
      "app/deep/er/data.txt": "d",
      "app/conf/web.env": "A=1\n",
      "app/conf/keep.txt": "k",
    },
  });
  const tool = join(first.bundleDir, "app", "bin", "tool");
  chmodSync(tool, 0o750);
  const then = new Date("2001-02-03T04:05:06Z");
  utimesSync(tool, then, then);
  utimesSync(join(first.bundleDir, "app", "bin"), then, then);
  if (process.getuid?.() === 0) chownSync(tool, 1234, 1234);
  const installed = await deploy(fleet, first);
  assert.equal(installed.succeeded, true, installed.failed?.message);
  const copied = statSync(join(root, "opt", "small", "bin", "tool"));
  assert.equal(copied.mode & 0o777, 0o750, "mode kept");
  assert.equal(copied.mtime.getTime(), then.getTime(), "modification time kept");
  assert.equal(
    statSync(join(root, "opt", "small", "bin")).mtime.getTime(),
    then.getTime(),
    "a folder's time kept too",
  );
  if (process.getuid?.() === 0)
    assert.deepEqual([copied.uid, copied.gid], [1234, 1234], "owner kept");
  const env = statSync(join(root, "opt", "small", "conf", "web.env"));
  assert.equal(env.mode & 0o777, 0o640, "permissions: mode applied");
  if (process.getuid?.() === 0) assert.equal(env.uid, webUser.uid, "permissions: owner applied");
  assert.notEqual(
    statSync(join(root, "opt", "small", "conf", "keep.txt")).mode & 0o777,
    0o640,
    "pattern respected",
  );

  // Something else writes into a folder the first install created: that folder must stay.
  writeFileSync(join(root, "opt", "small", "bin", "foreign"), "not the agent's");
  const second = await deploy(fleet, scriptRevision(join(dir, "second"), "second"));
  assert.equal(second.succeeded, true, second.failed?.message);
  assert.deepEqual(readdirSync(join(root, "opt", "small")).sort(), ["REVISION", "bin"]);
  assert.deepEqual(readdirSync(join(root, "opt", "small", "bin")), ["foreign"]);
  assert.equal(readFileSync(join(root, "opt", "small", "REVISION"), "utf8"), "second\n");
});

test("archives are pruned at download: five kept, never the last successful one", async (t) => {
  const { fleet, dir, instance } = await setup(t);
  const groupDir = join(instance.agentRoot, groupId);
  const good = await deploy(fleet, scriptRevision(join(dir, "good"), "good"));
  assert.equal(good.succeeded, true);
  const goodDir = readdirSync(groupDir)[0] as string;
  const failing: string[] = [];
  for (let n = 1; n <= 6; n++) {
    const r = await deploy(
      fleet,
      scriptRevision(join(dir, `bad-${n}`), `bad-${n}`, {
        files: { "hooks/BeforeInstall.sh": "exit 1" },
      }),
    );
    assert.equal(
      r.failed?.event,
      "BeforeInstall",
      "fails before Install, so good stays last successful",
    );
    failing.push(
      readdirSync(groupDir).find((d) => !failing.includes(d) && d !== goodDir) as string,
    );
  }
  const kept = readdirSync(groupDir).sort();
  assert.equal(kept.length, archivesKept);
  assert.ok(kept.includes(goodDir), "the last successful archive survives");
  assert.deepEqual(
    kept.filter((d) => d !== goodDir).sort(),
    failing.slice(-4).sort(),
    "the newest stay",
  );
});

test("BlockTraffic ends only once the instance's in-flight requests are drained", async (t) => {
  const fleet = await smallFleet(t, 1, { slowMs: 1500 });
  const dir = tempDir(t, "agent-drain");
  assert.equal((await deploy(fleet, scriptRevision(join(dir, "a"), "a"))).succeeded, true);
  // The answer's head comes at once, its end after 1.5 s: the request is in flight until then.
  const slow = fetch(`${fleet.url}/slow`).then(async (res) => `${res.status} ${await res.text()}`);
  await new Promise((r) => setTimeout(r, 200));
  let blockEndedAt = 0;
  const result = await deploy(fleet, scriptRevision(join(dir, "b"), "b"), {
    onEvent: (record) => {
      if (record.event === "BlockTraffic") blockEndedAt = Date.now();
    },
  });
  assert.equal(result.succeeded, true, result.failed?.message);
  assert.equal(await slow, "200 slow ", "the in-flight request was answered whole, not cut");
  assert.equal(result.events.find((e) => e.event === "BlockTraffic")?.status, "Succeeded");
  const answeredAt = fleet.slowAnswers[0] ?? Number.POSITIVE_INFINITY;
  assert.ok(
    blockEndedAt >= answeredAt,
    `BlockTraffic ended ${blockEndedAt - answeredAt} ms after the web finished its answer`,
  );
});
