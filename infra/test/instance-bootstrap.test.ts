import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { loadConfig } from "@fleetline/web/config";
import { runUserData, type SandboxRun, sandboxUnavailable } from "./support/bootstrap-sandbox.js";
import type { ResolvedStack } from "./support/cloudformation.js";
import {
  exampleParameters,
  onlyResource,
  resolve,
  template,
  userDataOf,
  variantParameters,
} from "./support/stacks.js";

const dir = mkdtempSync(join(tmpdir(), "fleetline-bootstrap-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Two real stacks: different names, regions, accounts and parameters. */
const stacks: ReadonlyArray<{ label: string; stack: ResolvedStack }> = [
  {
    label: "fleetline-prod in eu-west-3",
    stack: resolve({
      stackName: "fleetline-prod",
      region: "eu-west-3",
      accountId: "111122223333",
      parameters: exampleParameters,
    }),
  },
  {
    label: "Team-Website-2 in us-west-2 (variant)",
    stack: resolve({
      stackName: "Team-Website-2",
      region: "us-west-2",
      accountId: "444455556666",
      parameters: variantParameters("444455556666"),
    }),
  },
];

function skipUnlessSandbox(t: { skip(message: string): void }): boolean {
  const why = sandboxUnavailable();
  if (why === undefined) return false;
  if (process.env.CI === "true") assert.fail(`the bootstrap sandbox cannot run under CI: ${why}`);
  t.skip(`bootstrap sandbox unavailable: ${why}`);
  return true;
}

function envFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split("\n")) {
    if (line.trim() === "" || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    assert.ok(eq > 0, `not KEY=value: ${line}`);
    const key = line.slice(0, eq);
    assert.ok(!(key in env), `${key} is written twice`);
    env[key] = line.slice(eq + 1);
  }
  return env;
}

/** The binary the systemd unit starts, and the AL2023 package that provides it. */
function nodeOfTheUnit(): { binary: string; pkg: string } {
  const unit = readFileSync(
    new URL("../../deploy/systemd/fleetline-web.service", import.meta.url),
    "utf8",
  );
  const binary = /^ExecStart=(\S+)/m.exec(unit)?.[1] ?? "";
  const major = /\/node-(\d+)$/.exec(binary)?.[1];
  assert.ok(major, `ExecStart names ${binary}, not /usr/bin/node-<major>`);
  return { binary, pkg: `nodejs${major}` };
}

describe("instance bootstrap, executed against the resolved template", () => {
  for (const { label, stack } of stacks) {
    describe(label, () => {
      let run: SandboxRun | undefined;
      before(() => {
        if (sandboxUnavailable() === undefined) run = runUserData(userDataOf(stack));
      });

      test("completes and signals success to the stack's Auto Scaling group, in its region", (t) => {
        if (skipUnlessSandbox(t)) return;
        assert.equal(run!.status, 0, run!.stderr);
        const [groupId] = onlyResource(stack, "AWS::AutoScaling::AutoScalingGroup");
        // The logical id as it stands in the template, and the group's CreationPolicy is what
        // this signal answers.
        assert.ok(template.Resources[groupId]?.CreationPolicy, "the group waits for signals");
        assert.deepEqual(
          run!.callsOf("cfn-signal").map((c) => c.args),
          [
            [
              "--exit-code",
              "0",
              "--stack",
              stack.context.stackName,
              "--resource",
              groupId,
              "--region",
              stack.context.region,
            ],
          ],
        );
      });

      test("writes an env file holding the template's own table, parameter and secret, which the web accepts", (t) => {
        if (skipUnlessSandbox(t)) return;
        const text = run!.read("/etc/fleetline/web.env");
        assert.ok(text, "no /etc/fleetline/web.env");
        const env = envFile(text);
        const [, table] = onlyResource(stack, "AWS::DynamoDB::Table");
        const [, parameter] = onlyResource(stack, "AWS::SSM::Parameter");
        const [, secret] = onlyResource(stack, "AWS::SecretsManager::Secret");
        const [, vpc] = onlyResource(stack, "AWS::EC2::VPC");
        assert.equal(env.USERS_TABLE, table.ref);
        assert.equal(env.REDIS_ADDRESS_PARAMETER, parameter.properties.Name);
        assert.equal(env.REDIS_ADDRESS_PARAMETER, parameter.ref);
        assert.equal(env.REDIS_AUTH_SECRET_ID, secret.ref);
        assert.equal(env.AWS_REGION, stack.context.region);
        assert.equal(env.TRUST_PROXY, `127.0.0.1,${vpc.properties.CidrBlock}`);
        // Sign-in: the stack's own user pool and client, and the site's origins, canonical first.
        const [poolId] = onlyResource(stack, "AWS::Cognito::UserPool");
        const [, client] = onlyResource(stack, "AWS::Cognito::UserPoolClient");
        const [distributionId] = onlyResource(stack, "AWS::CloudFront::Distribution");
        assert.equal(env.OIDC_ISSUER, stack.getAtt(poolId, "ProviderURL"));
        assert.equal(env.OIDC_CLIENT_ID, client.ref);
        const [, domain] = onlyResource(stack, "AWS::Cognito::UserPoolDomain");
        assert.equal(
          env.OIDC_LOGOUT_URL,
          `https://${domain.properties.Domain}.auth.${stack.context.region}.amazoncognito.com/logout`,
        );
        const origins = env.PUBLIC_ORIGIN!.split(",");
        assert.equal(origins[0], stack.outputs.SiteUrl);
        assert.equal(origins.at(-1), `https://${stack.getAtt(distributionId, "DomainName")}`);
        const config = loadConfig(env);
        assert.equal(config.NODE_ENV, "production");
        assert.equal(config.KEYRING_STORE, "redis");
        assert.equal(config.REDIS_TLS, true);
        assert.equal(config.USERS_TABLE, table.ref);
      });

      test("writes every environment key deploy/CONTRACT.md lists, and no other", (t) => {
        if (skipUnlessSandbox(t)) return;
        const contract = readFileSync(new URL("../../deploy/CONTRACT.md", import.meta.url), "utf8");
        const section = contract.split("## Environment file keys")[1]?.split("\n## ")[0] ?? "";
        const keys = [...section.matchAll(/^\| ([^|]+)\|/gm)]
          .flatMap((row) => [...row[1]!.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]!))
          .filter((k) => k !== "KEY");
        assert.ok(keys.length >= 10, `found ${keys.join(", ")} in the contract`);
        const written = Object.keys(envFile(run!.read("/etc/fleetline/web.env") ?? ""));
        assert.deepEqual([...written].sort(), [...keys].sort());
      });

      test("ships logs only to log groups the template creates", (t) => {
        if (skipUnlessSandbox(t)) return;
        const text = run!.read("/opt/aws/amazon-cloudwatch-agent/etc/fleetline.json");
        assert.ok(text, "no CloudWatch agent configuration");
        const config = JSON.parse(text) as {
          logs: {
            logs_collected: {
              files: { collect_list: Array<{ file_path: string; log_group_name: string }> };
            };
          };
        };
        const created = new Set(
          Object.values(stack.resources)
            .filter((r) => r.type === "AWS::Logs::LogGroup")
            .map((r) => r.properties.LogGroupName),
        );
        const named = config.logs.logs_collected.files.collect_list;
        assert.ok(named.length >= 4);
        for (const entry of named) {
          assert.ok(
            created.has(entry.log_group_name),
            `${entry.file_path} → ${entry.log_group_name}, not in the template`,
          );
        }
        const ctl = run!.callsOf("amazon-cloudwatch-agent-ctl");
        assert.deepEqual(
          ctl.map((c) => c.args.at(-1)),
          ["file:/opt/aws/amazon-cloudwatch-agent/etc/fleetline.json"],
        );
      });

      test("installs the Node the systemd unit starts, the agents from this region, and no SSH", (t) => {
        if (skipUnlessSandbox(t)) return;
        const installed = run!
          .callsOf("dnf")
          .flatMap((c) => c.args.filter((a) => !a.startsWith("-")));
        assert.ok(
          installed.includes(nodeOfTheUnit().pkg),
          `${nodeOfTheUnit().pkg} not in ${installed.join(" ")}`,
        );
        for (const pkg of ["nginx", "ruby", "amazon-cloudwatch-agent", "aws-cfn-bootstrap"]) {
          assert.ok(installed.includes(pkg), pkg);
        }
        const download = run!
          .callsOf("curl")
          .find((c) => c.args.some((a) => a.includes("aws-codedeploy")));
        assert.ok(
          download?.args.includes(
            `https://aws-codedeploy-${stack.context.region}.s3.${stack.context.region}.amazonaws.com/latest/install`,
          ),
        );
        assert.deepEqual(
          run!.callsOf("codedeploy-installer").map((c) => c.args),
          [["auto"]],
        );
        assert.match(run!.read("/etc/passwd") ?? "", /^fleetline:x:\d+:\d+::\/:\/sbin\/nologin$/m);
        assert.ok(!installed.some((p) => /ssh/.test(p)));
      });
    });
  }

  test("waits for InService through IMDSv2 before it signals", (t) => {
    if (skipUnlessSandbox(t)) return;
    const run = runUserData(userDataOf(stacks[0]!.stack), { lifecycleState: "Pending:Wait" });
    assert.notEqual(run.status, 0);
    assert.match(run.stderr, /still 'Pending:Wait' after 18 minutes/);
    const polls = run
      .callsOf("curl")
      .filter((c) => c.args.some((a) => a.endsWith("target-lifecycle-state")));
    assert.equal(polls.length, 216);
    assert.ok(polls.every((c) => c.args.includes("X-aws-ec2-metadata-token: sandbox-imds-token")));
    assert.deepEqual(
      run.callsOf("cfn-signal").map((c) => c.args[1]),
      ["1"],
    );
  });

  // Each step of the bootstrap, made to fail: the instance reports failure to CloudFormation at
  // once (exit code 1) and the script exits non-zero, without running later steps.
  const failures: ReadonlyArray<{ step: string; command: string; args?: string; next: RegExp }> = [
    { step: "package installation", command: "dnf", args: "nginx", next: /app user, directories/ },
    { step: "app user", command: "useradd", next: /environment file/ },
    { step: "nginx configuration test", command: "nginx", next: /rsyslog/ },
    { step: "nginx start", command: "systemctl", args: "restart nginx", next: /rsyslog/ },
    { step: "rsyslog", command: "systemctl", args: "rsyslog", next: /CloudWatch agent/ },
    { step: "CloudWatch agent", command: "amazon-cloudwatch-agent-ctl", next: /CodeDeploy agent/ },
    {
      step: "CodeDeploy installer download",
      command: "curl",
      args: "aws-codedeploy",
      next: /local health check/,
    },
    {
      step: "CodeDeploy agent start",
      command: "systemctl",
      args: "codedeploy-agent$",
      next: /local health check/,
    },
    {
      step: "local health check",
      command: "curl",
      args: "127\\.0\\.0\\.1/health",
      next: /lifecycle state/,
    },
    { step: "IMDSv2 token", command: "curl", args: "api/token", next: /ready; signalling/ },
  ];
  for (const { step, command, args, next } of failures) {
    test(`a failing ${step} signals 1 and exits non-zero`, (t) => {
      if (skipUnlessSandbox(t)) return;
      const run = runUserData(userDataOf(stacks[0]!.stack), { fail: { command, args } });
      assert.notEqual(run.status, 0, run.stderr);
      assert.match(run.stderr, /\[bootstrap\] FAILED at line \d+ \(exit \d+\)/);
      assert.doesNotMatch(run.stderr, next);
      assert.deepEqual(
        run.callsOf("cfn-signal").map((c) => c.args.slice(0, 4)),
        [["--exit-code", "1", "--stack", "fleetline-prod"]],
      );
    });
  }

  test("a failing cfn-signal installation says CloudFormation will only see the timeout", (t) => {
    if (skipUnlessSandbox(t)) return;
    const run = runUserData(userDataOf(stacks[0]!.stack), {
      fail: { command: "dnf", args: "aws-cfn-bootstrap" },
    });
    assert.notEqual(run.status, 0);
    assert.match(run.stderr, /attempt 5 of 'dnf install -y aws-cfn-bootstrap' failed/);
    assert.match(run.stderr, /cfn-signal is not installed/);
    assert.match(run.stderr, /installing cfn-signal/);
    assert.doesNotMatch(run.stderr, /installing packages/);
  });
});

describe("instance bootstrap script", () => {
  const userData = userDataOf(stacks[0]!.stack);

  test("is shellcheck-clean, as the instance receives it", (t) => {
    const which = spawnSync("sh", ["-c", "command -v shellcheck"], { encoding: "utf8" });
    if (which.status !== 0) {
      if (process.env.CI === "true")
        assert.fail("shellcheck is not installed under CI (.ci/run installs it)");
      t.skip("shellcheck not installed (.ci/run installs it)");
      return;
    }
    for (const [name, text] of [
      ["user-data.sh", userData],
      [
        "standin",
        readFileSync(new URL("./support/bootstrap-sandbox/standin", import.meta.url), "utf8"),
      ],
    ] as const) {
      const file = join(dir, name);
      writeFileSync(file, text);
      const result = spawnSync("shellcheck", ["--shell=bash", "--severity=style", file], {
        encoding: "utf8",
      });
      assert.equal(result.status, 0, `${name}: ${result.stdout}${result.stderr}`);
    }
  });

  test("never sets the deploy hooks' rehearsal seams on EC2 (deploy/CONTRACT.md)", () => {
    assert.ok(!/FLEETLINE_(ROOT|HEALTH_URL|VALIDATE_)/.test(userData));
  });
});
