import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { BOOTSTRAP_SCRIPT } from "../lib/instance-bootstrap.js";

const dir = mkdtempSync(join(tmpdir(), "fleetline-bootstrap-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The user data as an instance receives it, with sample values in the header. */
function rendered(): string {
  const header = [
    "#!/bin/bash",
    "FL_APP='fleetline'",
    "FL_ENV='prod'",
    "FL_REGION='eu-west-3'",
    "FL_STACK='fleetline-prod'",
    "FL_RESOURCE='FleetGroupASGF037160E'",
    "FL_USERS_TABLE='fleetline-prod-UsersTable-ABC'",
    "FL_CACHE_ADDRESS_PARAMETER='/fleetline/prod/CacheAddress'",
    "FL_CACHE_AUTH_SECRET_ARN='arn:aws:secretsmanager:eu-west-3:123456789012:secret:x'",
    "FL_VPC_CIDR='10.50.0.0/16'",
    "FL_LOG_PREFIX='/fleetline/prod'",
  ];
  return `${header.join("\n")}\n${BOOTSTRAP_SCRIPT}`;
}

describe("instance bootstrap script", () => {
  test("is shellcheck-clean", (t) => {
    const which = spawnSync("sh", ["-c", "command -v shellcheck"], { encoding: "utf8" });
    if (which.status !== 0) {
      if (process.env.CI === "true")
        assert.fail("shellcheck is not installed under CI (.ci/run installs it)");
      t.skip("shellcheck not installed (.ci/run installs it)");
      return;
    }
    const file = join(dir, "user-data.sh");
    writeFileSync(file, rendered());
    const result = spawnSync("shellcheck", ["--shell=bash", "--severity=style", file], {
      encoding: "utf8",
    });
    assert.equal(result.status, 0, result.stdout + result.stderr);
  });

  test("parses as bash", () => {
    const file = join(dir, "syntax.sh");
    writeFileSync(file, rendered());
    const result = spawnSync("bash", ["-n", file], { encoding: "utf8" });
    assert.equal(result.status, 0, result.stderr);
  });

  test("follows the contract's paths, user and log shipping", () => {
    const script = BOOTSTRAP_SCRIPT;
    for (const expected of [
      "useradd --system --no-create-home --shell /sbin/nologin fleetline",
      "install -d -m 0750 -o fleetline -g fleetline /var/log/fleetline",
      "/opt/fleetline/releases /opt/fleetline/incoming",
      'mv -f "$env_tmp" /etc/fleetline/web.env',
      "chown root:fleetline",
      "/etc/nginx/conf.d/fleetline.conf",
      '"file_path": "/var/log/fleetline/*.log", "log_group_name": "$FL_LOG_PREFIX/web"',
      '"file_path": "/opt/codedeploy-agent/deployment-root/deployment-logs/codedeploy-agent-deployments.log", "log_group_name": "$FL_LOG_PREFIX/codedeploy"',
      '"file_path": "/var/log/messages", "log_group_name": "$FL_LOG_PREFIX/system"',
      "systemctl enable --now rsyslog",
      "systemctl enable --now codedeploy-agent",
      "meta-data/autoscaling/target-lifecycle-state",
      "X-aws-ec2-metadata-token",
    ]) {
      assert.ok(script.includes(expected), expected);
    }
    // The deploy hooks' rehearsal seam must never be set on EC2 (deploy/CONTRACT.md).
    assert.ok(!/FLEETLINE_(ROOT|HEALTH_URL|VALIDATE_)/.test(script));
  });

  test("writes every environment key deploy/CONTRACT.md lists, once", () => {
    const contract = readFileSync(new URL("../../deploy/CONTRACT.md", import.meta.url), "utf8");
    const section = contract.split("## Environment file keys")[1]?.split("\n## ")[0] ?? "";
    // First column of the table: `KEY` or `KEY` / `KEY`.
    const keys = [...section.matchAll(/^\| ([^|]+)\|/gm)]
      .flatMap((row) => [...row[1]!.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]!))
      .filter((k) => k !== "KEY");
    assert.ok(keys.length >= 10, `found ${keys.join(", ")} in the contract`);
    const envBlock = BOOTSTRAP_SCRIPT.split('cat >"$env_tmp" <<EOF\n')[1]!.split("\nEOF\n")[0]!;
    const written = envBlock.split("\n").map((line) => line.split("=")[0]);
    assert.deepEqual([...written].sort(), [...keys].sort());
  });

  test("stops at the first failure, says where, and exits non-zero", () => {
    // Only the failing path can run here: dnf is a stub that fails, so the script stops at its
    // first step, before touching the machine. sleep is stubbed to skip the retry back-off.
    const bin = join(dir, "bin");
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, "dnf"), "#!/bin/sh\necho 'dnf: no network' >&2\nexit 1\n", {
      mode: 0o755,
    });
    writeFileSync(join(bin, "sleep"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    const file = join(dir, "failing.sh");
    writeFileSync(file, rendered());
    const result = spawnSync("bash", [file], {
      encoding: "utf8",
      env: { PATH: `${bin}:/usr/bin:/bin` },
    });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /attempt 5 of 'dnf install -y nodejs24/);
    assert.match(result.stderr, /\[bootstrap\] FAILED at line \d+ \(exit 1\)/);
    assert.doesNotMatch(result.stderr, /app user, directories/);
  });
});
