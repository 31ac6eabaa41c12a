import assert from "node:assert/strict";
import { test } from "node:test";
import { bootstrapEnvLines, deployedWeb, unitCommand } from "../src/deployed-web.js";

const local = {
  port: 5123,
  instanceId: "bench-x",
  logDir: "/tmp/bench-log",
  dynamodbEndpoint: "http://127.0.0.1:8000",
  releaseRoot: "/tmp/release",
  keyringDir: "/tmp/keys",
  redisUrl: "redis://127.0.0.1:6390",
  oidc: { issuer: "http://127.0.0.1:5124/oidc", clientId: "bench-client" },
};

test("the bench's environment is the bootstrap's web.env, with each local difference listed", () => {
  const { env, differences, cwd, args } = deployedWeb(local);
  const ec2 = new Map(bootstrapEnvLines());
  assert.equal(env.NODE_ENV, "production");
  assert.equal(ec2.get("NODE_ENV"), "production");
  assert.equal(env.LOG_LEVEL, undefined, "EC2 sets no LOG_LEVEL: the default applies");
  assert.equal(env.LOG_DIR, "/tmp/bench-log");
  assert.equal(env.KEYRING_STORE, "redis");
  // Sign-in as the bootstrap configures it, pointed at the instance's local OpenID provider.
  assert.equal(env.OIDC_ISSUER, "http://127.0.0.1:5124/oidc");
  assert.equal(env.OIDC_CLIENT_ID, "bench-client");
  assert.equal(env.OIDC_LOGOUT_URL, "", "empty (unset): the local provider's logout is discovered");
  assert.equal(env.PUBLIC_ORIGIN, "http://127.0.0.1:5123");
  // Every key the bootstrap writes is either passed on or listed as a difference.
  const changed = new Set(differences.map((d) => d.key));
  for (const [key, value] of ec2) {
    if (changed.has(key)) continue;
    assert.ok(env[key] !== undefined, `${key} from web.env is missing`);
    if (!value.includes("$")) assert.equal(env[key], value, `${key} differs without being listed`);
  }
  for (const key of Object.keys(env)) {
    assert.ok(
      key === "PATH" || ec2.has(key) || changed.has(key),
      `${key} is neither EC2's nor listed`,
    );
  }
  assert.equal(cwd, "/tmp/release/app");
  assert.deepEqual(args, ["/tmp/release/app/dist/server.mjs"]);
});

test("a new deployment-time value in the bootstrap stops the bench instead of drifting", () => {
  const script = `cat >"$env_tmp" <<EOF\nNODE_ENV=production\nNEW_KEY=$FL_SOMETHING_NEW\nEOF\nmv -f "$env_tmp" /etc/fleetline/web.env\n`;
  assert.deepEqual(bootstrapEnvLines(script), [
    ["NODE_ENV", "production"],
    ["NEW_KEY", "$FL_SOMETHING_NEW"],
  ]);
  assert.throws(
    () => deployedWeb(local, { bootstrap: script }),
    /NEW_KEY=\$FL_SOMETHING_NEW: the bench has no local value for \$FL_SOMETHING_NEW/,
  );
  assert.throws(() => bootstrapEnvLines("echo no env file here\n"), /web\.env/);
});

test("node flags added to the unit's ExecStart are passed on", () => {
  const unit = unitCommand(
    "EnvironmentFile=/etc/fleetline/web.env\nWorkingDirectory=/opt/fleetline/current/app\nExecStart=/usr/bin/node-24 --max-old-space-size=512 /opt/fleetline/current/app/dist/server.mjs\n",
  );
  assert.deepEqual(unit.nodeFlags, ["--max-old-space-size=512"]);
  assert.equal(unit.script, "/opt/fleetline/current/app/dist/server.mjs");
});
