import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { checkParameters, parseParameterFile } from "../lib/parameter-file.js";
import { parseCliArgs, UsageError } from "../scripts/cli-args.js";
import {
  type AwsClients,
  deployStack,
  destroyStack,
  type Sender,
  type Terminal,
} from "../scripts/cloudformation-ops.js";
import { buildPlan, type Plan, type TemplateDocument } from "../scripts/plan.js";

const infraDir = fileURLToPath(new URL("..", import.meta.url));
const examplePath = fileURLToPath(
  new URL("../../cloudformation/parameters.example.json", import.meta.url),
);
const template = JSON.parse(
  readFileSync(new URL("../../cloudformation/fleetline.template.json", import.meta.url), "utf8"),
) as TemplateDocument;
const dir = mkdtempSync(join(tmpdir(), "fleetline-cli-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the real entry point with no AWS configuration at all. */
function runCli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: dir };
  // Any SDK call would have to find credentials and a region; none are available, and IMDS is off.
  env.AWS_EC2_METADATA_DISABLED = "true";
  env.AWS_CONFIG_FILE = join(dir, "none");
  env.AWS_SHARED_CREDENTIALS_FILE = join(dir, "none");
  const result = spawnSync(process.execPath, ["--import", "tsx", "scripts/deploy.ts", ...args], {
    cwd: infraDir,
    env,
    encoding: "utf8",
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("command line", () => {
  test("parses deploy with every option", () => {
    assert.deepEqual(
      parseCliArgs([
        "deploy",
        "--parameters",
        "p.json",
        "--region=eu-west-3",
        "--profile",
        "ops",
        "--stack-name",
        "fl-test",
        "--template-bucket",
        "my-templates",
        "--yes",
        "--dry-run",
      ]),
      {
        command: "deploy",
        parametersFile: "p.json",
        region: "eu-west-3",
        profile: "ops",
        stackName: "fl-test",
        templateBucket: "my-templates",
        yes: true,
        dryRun: true,
      },
    );
  });

  const bad: ReadonlyArray<readonly [string[], string]> = [
    [[], "first argument must be deploy or destroy, got nothing"],
    [["create"], 'first argument must be deploy or destroy, got "create"'],
    [["deploy"], "deploy needs --parameters <file> (see cloudformation/parameters.example.json)"],
    [["deploy", "--parameters"], "--parameters needs a value"],
    [["deploy", "--parameters", "--yes"], "--parameters needs a value"],
    [["deploy", "--parameters", "a", "--parameters", "b"], "--parameters given twice"],
    [["deploy", "--parameters", "a", "--force"], 'unknown option "--force"'],
    [["deploy", "--parameters", "a", "--yes=no"], "--yes takes no value"],
    [
      ["deploy", "--parameters", "a", "--region", "paris"],
      '--region "paris" is not a region name such as eu-west-3',
    ],
    [
      ["deploy", "--parameters", "a", "--stack-name", "1st"],
      "--stack-name \"1st\" is not a stack name (letters, digits, '-', starting with a letter)",
    ],
    [["destroy"], "destroy needs --parameters <file> or --stack-name <name>"],
    [
      ["destroy", "--stack-name", "x", "--template-bucket", "b"],
      "--template-bucket only applies to deploy",
    ],
  ];
  for (const [argv, message] of bad) {
    test(`rejects ${JSON.stringify(argv)}`, () => {
      assert.throws(
        () => parseCliArgs(argv),
        (error: unknown) => {
          assert.ok(error instanceof UsageError);
          assert.equal(error.message, message);
          return true;
        },
      );
    });
  }
});

describe("npm run deploy -- --dry-run", () => {
  test("prints the plan from the example file and exits 0 without AWS", () => {
    const { status, stdout, stderr } = runCli(["deploy", "--parameters", examplePath, "--dry-run"]);
    assert.equal(stderr, "");
    assert.equal(status, 0);
    assert.match(stdout, /^fleetline deploy \(dry run: no AWS calls\)\n/);
    assert.match(stdout, /\n {2}stack {8}fleetline-prod\n/);
    assert.match(stdout, /\n {4}OperatorEmail +ops@example\.com\n/);
    assert.match(
      stdout,
      /upload the template to s3:\/\/fleetline-templates-<account>-<region>\/fleetline-prod\/[0-9a-f]{16}\.json/,
    );
    assert.match(stdout, /UsersTable[0-9A-F]+ \(AWS::DynamoDB::Table\)/);
  });

  test("marks defaults and names the stack from AppName-EnvName", () => {
    const file = join(dir, "minimal.json");
    writeFileSync(
      file,
      JSON.stringify({
        AppName: "shop",
        EnvName: "staging",
        OperatorEmail: "ops@example.com",
        ConnectionArn:
          "arn:aws:codestar-connections:eu-west-3:123456789012:connection/11111111-2222-3333-4444-555555555555",
        RepositoryOwner: "octo-org",
      }),
    );
    const { status, stdout } = runCli([
      "deploy",
      "--parameters",
      file,
      "--dry-run",
      "--region",
      "eu-west-3",
    ]);
    assert.equal(status, 0);
    assert.match(stdout, /\n {2}stack {8}shop-staging\n/);
    assert.match(stdout, /\n {2}region {7}eu-west-3\n/);
    assert.match(stdout, /\n {4}InstanceType +t4g\.micro {2}\(default\)\n/);
    assert.doesNotMatch(stdout, /OperatorEmail .*\(default\)/);
  });

  test("a bad file stops before AWS with every problem listed, exit 2", () => {
    const file = join(dir, "bad.json");
    writeFileSync(file, JSON.stringify({ OperatorEmail: "nobody", InstanceType: "t2.micro" }));
    const { status, stdout, stderr } = runCli(["deploy", "--parameters", file, "--dry-run"]);
    assert.equal(status, 2);
    assert.equal(stdout, "");
    assert.equal(
      stderr,
      `${file}: 4 problem(s), nothing was sent to AWS:
  - OperatorEmail: "nobody" is not valid; expected an e-mail address such as ops@example.com
  - InstanceType: "t2.micro" is not allowed; expected one of t4g.micro, t4g.small, t4g.medium, t4g.large, m7g.medium, m7g.large, c7g.medium, c7g.large
  - ConnectionArn: required (no default); expected a connection ARN such as arn:aws:codeconnections:us-east-1:123456789012:connection/<uuid>
  - RepositoryOwner: required (no default); expected a GitHub user or organisation name
`,
    );
  });

  test("usage errors print the usage, exit 2", () => {
    const { status, stderr } = runCli(["deploy", "--dry-run"]);
    assert.equal(status, 2);
    assert.match(stderr, /^deploy needs --parameters <file>.*\nusage:\n/s);
  });

  test("destroy --dry-run says what is retained", () => {
    const { status, stdout } = runCli(["destroy", "--stack-name", "fleetline-prod", "--dry-run"]);
    assert.equal(status, 0);
    assert.match(stdout, /^fleetline destroy \(dry run: no AWS calls\)\n/);
    assert.match(stdout, /retained when the stack is deleted/);
    assert.match(
      stdout,
      /\(AWS::S3::Bucket\)\n.*\(AWS::S3::Bucket\)\n.*\(AWS::DynamoDB::Table\)\n$/,
    );
  });
});

// ---- The AWS conversation, against fake clients (no network) ----

type Handler = (input: Record<string, unknown>, call: number) => unknown;

/** A fake SDK client: answers by command class name and records every call. */
function fakeClient(handlers: Record<string, Handler>, log: string[]): Sender {
  const counts = new Map<string, number>();
  return {
    send: async (command: object) => {
      const name = command.constructor.name.replace(/Command$/, "");
      const call = (counts.get(name) ?? 0) + 1;
      counts.set(name, call);
      log.push(name);
      const handler = handlers[name];
      if (!handler) throw new Error(`unexpected ${name}`);
      return handler((command as { input: Record<string, unknown> }).input, call);
    },
  };
}

function notFound(): never {
  throw Object.assign(new Error("Stack with id fleetline-prod does not exist"), {
    name: "ValidationError",
  });
}

function fakeTerminal(answer: string): Terminal & { text: () => string; asked: string[] } {
  const out: string[] = [];
  const asked: string[] = [];
  return {
    out: (t) => out.push(t),
    ask: async (q) => {
      asked.push(q);
      return answer;
    },
    sleep: async () => {},
    text: () => out.join(""),
    asked,
  };
}

function examplePlan(command: "deploy" | "destroy"): Plan {
  const parsed = parseParameterFile(readFileSync(examplePath, "utf8"));
  const check = checkParameters(parsed.entries, template.Parameters);
  return buildPlan(
    { command, parametersFile: examplePath, yes: false, dryRun: false },
    "cloudformation/fleetline.template.json",
    template,
    check,
  );
}

const stackId = "arn:aws:cloudformation:eu-west-3:123456789012:stack/fleetline-prod/abc";

function clients(
  cfn: Record<string, Handler>,
  log: string[],
  s3: Record<string, Handler> = {},
  elbv2: Record<string, Handler> = {},
): AwsClients {
  return {
    cloudformation: fakeClient(cfn, log),
    s3: fakeClient(s3, log),
    sts: fakeClient({ GetCallerIdentity: () => ({ Account: "123456789012" }) }, log),
    elbv2: fakeClient(elbv2, log),
    region: async () => "eu-west-3",
  };
}

describe("deploy against fake AWS", () => {
  test("creates: uploads the template, shows the change set, executes, streams events, prints outputs", async () => {
    const log: string[] = [];
    // Newest first, as CloudFormation returns them; the clock is irrelevant (ids decide).
    const newEvents = [
      {
        EventId: "3",
        Timestamp: new Date(Date.now() - 3_600_000),
        ResourceType: "AWS::CloudFormation::Stack",
        PhysicalResourceId: stackId,
        LogicalResourceId: "fleetline-prod",
        ResourceStatus: "CREATE_COMPLETE",
      },
      {
        EventId: "2",
        Timestamp: new Date(Date.now() - 3_700_000),
        ResourceType: "AWS::EC2::VPC",
        PhysicalResourceId: "vpc-1",
        LogicalResourceId: "NetworkVpc",
        ResourceStatus: "CREATE_COMPLETE",
      },
    ];
    let createInput: Record<string, unknown> = {};
    let putKey = "";
    const aws = clients(
      {
        DescribeStacks: (_input, call) =>
          call === 1
            ? notFound()
            : {
                Stacks: [
                  {
                    StackStatus: "CREATE_COMPLETE",
                    Outputs: [
                      {
                        OutputKey: "SiteUrl",
                        OutputValue: "http://fl-123.eu-west-3.elb.amazonaws.com",
                      },
                    ],
                  },
                ],
              },
        CreateChangeSet: (input) => {
          createInput = input;
          return { Id: "cs-1", StackId: stackId };
        },
        DescribeChangeSet: (_input, call) =>
          call === 1
            ? { Status: "CREATE_IN_PROGRESS" }
            : {
                Status: "CREATE_COMPLETE",
                StackId: stackId,
                Changes: [
                  {
                    ResourceChange: {
                      Action: "Add",
                      ResourceType: "AWS::EC2::VPC",
                      LogicalResourceId: "NetworkVpc",
                    },
                  },
                ],
              },
        ExecuteChangeSet: () => ({}),
        DescribeStackEvents: (_input, call) => ({
          StackEvents: [
            ...(call === 1 ? [] : newEvents),
            {
              EventId: "0",
              Timestamp: new Date(Date.now() - 60_000),
              ResourceType: "AWS::CloudFormation::Stack",
              PhysicalResourceId: stackId,
              LogicalResourceId: "fleetline-prod",
              ResourceStatus: "REVIEW_IN_PROGRESS",
            },
          ],
        }),
      },
      log,
      {
        HeadBucket: () => {
          throw Object.assign(new Error("not found"), { name: "NotFound" });
        },
        CreateBucket: () => ({}),
        PutPublicAccessBlock: () => ({}),
        PutObject: (input) => {
          putKey = String(input.Key);
          return {};
        },
      },
    );
    const term = fakeTerminal("y");
    const code = await deployStack(aws, examplePlan("deploy"), term, { yes: false, pollMs: 0 });
    assert.equal(code, 0, term.text());
    assert.deepEqual(log, [
      "DescribeStacks",
      "GetCallerIdentity",
      "HeadBucket",
      "CreateBucket",
      "PutPublicAccessBlock",
      "PutObject",
      "CreateChangeSet",
      "DescribeChangeSet",
      "DescribeChangeSet",
      "DescribeStackEvents",
      "ExecuteChangeSet",
      "DescribeStackEvents",
      "DescribeStacks",
    ]);
    assert.equal(createInput.ChangeSetType, "CREATE");
    assert.deepEqual(createInput.Capabilities, ["CAPABILITY_IAM"]);
    assert.equal(
      createInput.TemplateURL,
      `https://fleetline-templates-123456789012-eu-west-3.s3.eu-west-3.amazonaws.com/${putKey}`,
    );
    assert.ok(
      (createInput.Parameters as Array<{ ParameterKey: string }>).some(
        (p) => p.ParameterKey === "OperatorEmail",
      ),
    );
    assert.deepEqual(term.asked, ["Execute this change set on fleetline-prod? [y/N] "]);
    const text = term.text();
    assert.match(text, /1 change\(s\):\n {2}Add {5}AWS::EC2::VPC +NetworkVpc\n/);
    // Events oldest first.
    assert.ok(
      text.indexOf("NetworkVpc\n", text.indexOf("change(s)") + 60) <
        text.lastIndexOf("fleetline-prod\n"),
    );
    assert.doesNotMatch(
      text,
      /REVIEW_IN_PROGRESS/,
      "events from before the execution are not shown",
    );
    assert.match(text, /SiteUrl +http:\/\/fl-123\.eu-west-3\.elb\.amazonaws\.com\n$/);
  });

  test("no changes: says so, deletes the empty change set, exits 0", async () => {
    const log: string[] = [];
    const aws = clients(
      {
        DescribeStacks: () => ({ Stacks: [{ StackStatus: "UPDATE_COMPLETE", StackId: stackId }] }),
        CreateChangeSet: () => ({ Id: "cs-2" }),
        DescribeChangeSet: () => ({
          Status: "FAILED",
          StatusReason:
            "The submitted information didn't contain changes. Submit different information to create a change set.",
        }),
        DeleteChangeSet: () => ({}),
      },
      log,
      { HeadBucket: () => ({}), PutObject: () => ({}) },
    );
    const term = fakeTerminal("y");
    const code = await deployStack(aws, examplePlan("deploy"), term, { yes: true, pollMs: 0 });
    assert.equal(code, 0);
    assert.ok(log.includes("DeleteChangeSet"));
    assert.ok(!log.includes("ExecuteChangeSet"));
    assert.match(term.text(), /no changes: stack fleetline-prod already matches/);
  });

  test("answering no leaves the change set unexecuted, exit 1", async () => {
    const log: string[] = [];
    const aws = clients(
      {
        DescribeStacks: () => ({ Stacks: [{ StackStatus: "UPDATE_COMPLETE", StackId: stackId }] }),
        CreateChangeSet: (input) => {
          assert.equal(input.ChangeSetType, "UPDATE");
          return { Id: "cs-3" };
        },
        DescribeChangeSet: () => ({ Status: "CREATE_COMPLETE", Changes: [] }),
      },
      log,
      { HeadBucket: () => ({}), PutObject: () => ({}) },
    );
    const term = fakeTerminal("");
    assert.equal(await deployStack(aws, examplePlan("deploy"), term, { yes: false, pollMs: 0 }), 1);
    assert.ok(!log.includes("ExecuteChangeSet"));
  });

  test("a stack whose creation rolled back must be destroyed first", async () => {
    const log: string[] = [];
    const aws = clients(
      { DescribeStacks: () => ({ Stacks: [{ StackStatus: "ROLLBACK_COMPLETE" }] }) },
      log,
    );
    const term = fakeTerminal("y");
    assert.equal(await deployStack(aws, examplePlan("deploy"), term, { yes: true, pollMs: 0 }), 1);
    assert.deepEqual(log, ["DescribeStacks"]);
    assert.match(term.text(), /run npm run destroy first/);
  });
});

describe("destroy against fake AWS", () => {
  const albArn =
    "arn:aws:elasticloadbalancing:eu-west-3:123456789012:loadbalancer/app/fleetline-prod/0123456789abcdef";
  const resources = {
    StackResourceSummaries: [
      {
        LogicalResourceId: "UsersTable7E9D0A63",
        PhysicalResourceId: "fleetline-prod-UsersTable-XYZ",
      },
      {
        LogicalResourceId: "ArtifactsBucket88671897",
        PhysicalResourceId: "fleetline-prod-artifacts-abc",
      },
      { LogicalResourceId: "NetworkVpc", PhysicalResourceId: "vpc-1" },
      {
        LogicalResourceId: "LoadBalancer8E47CE52",
        PhysicalResourceId: albArn,
        ResourceType: "AWS::ElasticLoadBalancingV2::LoadBalancer",
      },
    ],
  };

  test("names what is retained and deletes only after the stack name is typed", async () => {
    const log: string[] = [];
    const protectionChanges: unknown[] = [];
    const aws = clients(
      {
        DescribeStacks: () => ({ Stacks: [{ StackStatus: "UPDATE_COMPLETE", StackId: stackId }] }),
        ListStackResources: () => resources,
        DeleteStack: () => ({}),
        DescribeStackEvents: (_input, call) => ({
          StackEvents: [
            ...(call === 1
              ? []
              : [
                  {
                    EventId: "9",
                    Timestamp: new Date(Date.now() + 1000),
                    ResourceType: "AWS::CloudFormation::Stack",
                    PhysicalResourceId: stackId,
                    LogicalResourceId: "fleetline-prod",
                    ResourceStatus: "DELETE_COMPLETE",
                  },
                ]),
            {
              EventId: "8",
              Timestamp: new Date(Date.now() - 60_000),
              ResourceType: "AWS::CloudFormation::Stack",
              PhysicalResourceId: stackId,
              LogicalResourceId: "fleetline-prod",
              ResourceStatus: "UPDATE_COMPLETE",
            },
          ],
        }),
      },
      log,
      {},
      {
        ModifyLoadBalancerAttributes: (input) => {
          protectionChanges.push(input);
          return {};
        },
      },
    );
    const term = fakeTerminal("fleetline-prod");
    assert.equal(
      await destroyStack(aws, examplePlan("destroy"), term, { yes: false, pollMs: 0 }),
      0,
    );
    const text = term.text();
    assert.match(
      text,
      /these stay after deletion.*\n {2}AWS::S3::Bucket +fleetline-prod-artifacts-abc\n {2}AWS::DynamoDB::Table +fleetline-prod-UsersTable-XYZ\n/s,
    );
    assert.match(text, /aws s3 rb s3:\/\/fleetline-prod-artifacts-abc --force/);
    assert.match(text, /aws dynamodb delete-table --table-name fleetline-prod-UsersTable-XYZ/);
    assert.ok(log.includes("DeleteStack"));
    // The load balancer's deletion protection (on in the template) is lifted first, or the
    // deletion would end in DELETE_FAILED on it.
    assert.deepEqual(protectionChanges, [
      {
        LoadBalancerArn: albArn,
        Attributes: [{ Key: "deletion_protection.enabled", Value: "false" }],
      },
    ]);
    assert.ok(log.indexOf("ModifyLoadBalancerAttributes") < log.indexOf("DeleteStack"));
  });

  test("a wrong answer deletes nothing", async () => {
    const log: string[] = [];
    const aws = clients(
      {
        DescribeStacks: () => ({ Stacks: [{ StackStatus: "UPDATE_COMPLETE", StackId: stackId }] }),
        ListStackResources: () => resources,
      },
      log,
    );
    const term = fakeTerminal("yes");
    assert.equal(
      await destroyStack(aws, examplePlan("destroy"), term, { yes: false, pollMs: 0 }),
      1,
    );
    assert.ok(!log.includes("DeleteStack"));
    assert.ok(!log.includes("ModifyLoadBalancerAttributes"), "protection kept when not deleting");
  });

  test("a missing stack is not an error", async () => {
    const log: string[] = [];
    const aws = clients({ DescribeStacks: () => notFound() }, log);
    const term = fakeTerminal("");
    assert.equal(
      await destroyStack(aws, examplePlan("destroy"), term, { yes: false, pollMs: 0 }),
      0,
    );
    assert.match(term.text(), /does not exist in eu-west-3; nothing to delete/);
  });
});
