import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, type TestContext, test } from "node:test";
import { fileURLToPath } from "node:url";
import { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { S3Client } from "@aws-sdk/client-s3";
import { STSClient } from "@aws-sdk/client-sts";
import { PIECE_CATALOG, type PieceEntry, piecesInOrder } from "../lib/piece-catalog.js";
import { parseCliArgs, UsageError } from "../scripts/cli-args.js";
import {
  type AwsClients,
  deployStack,
  destroyStack,
  type OperationOptions,
  type Terminal,
} from "../scripts/cloudformation-ops.js";
import { checkParameters, parseParameterFile } from "../scripts/parameter-file.js";
import { buildPlan, type Plan, type TemplateDocument } from "../scripts/plan.js";
import { type FakeAws, type Scenario, type StackStep, startFakeAws } from "./support/fake-aws.js";

const infraDir = fileURLToPath(new URL("..", import.meta.url));
const examplePath = fileURLToPath(
  new URL("../../cloudformation/parameters.example.json", import.meta.url),
);
const template = JSON.parse(
  readFileSync(new URL("../../cloudformation/fleetline.template.json", import.meta.url), "utf8"),
) as TemplateDocument;
const dir = mkdtempSync(join(tmpdir(), "fleetline-cli-"));
after(() => rmSync(dir, { recursive: true, force: true }));

interface CliResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs the real entry point as users do, as a child process (asynchronously: a fake AWS server
 * may be answering from this process). Without `fake` there is no AWS configuration at all; with
 * it, fake credentials and the SDK's own endpoint variables point every client at the fake.
 */
function runCli(args: string[], fake?: FakeAws, extra: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: dir };
  // Nothing may reach the network: no instance metadata, no config or credentials files.
  env.AWS_EC2_METADATA_DISABLED = "true";
  env.AWS_CONFIG_FILE = join(dir, "none");
  env.AWS_SHARED_CREDENTIALS_FILE = join(dir, "none");
  if (fake) {
    Object.assign(env, {
      AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE",
      AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
      AWS_ENDPOINT_URL_CLOUDFORMATION: fake.url,
      AWS_ENDPOINT_URL_S3: fake.url,
      AWS_ENDPOINT_URL_STS: fake.url,
      // The SDK's name for it: "AWS_ENDPOINT_URL_" + serviceId "Elastic Load Balancing v2".
      AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2: fake.url,
      FLEETLINE_DEPLOY_POLL_SECONDS: "0.05",
      FLEETLINE_DEPLOY_MAX_WAIT_SECONDS: "20",
    });
  }
  Object.assign(env, extra);
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/deploy.ts", ...args], {
    cwd: infraDir,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
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
        pieces: undefined,
        existing: [],
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
  test("prints the plan from the example file and exits 0 without AWS", async () => {
    const { status, stdout, stderr } = await runCli([
      "deploy",
      "--parameters",
      examplePath,
      "--dry-run",
    ]);
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

  test("marks defaults and names the stack from AppName-EnvName", async () => {
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
    const { status, stdout } = await runCli([
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

  test("a bad file stops before AWS with every problem listed, exit 2", async () => {
    const file = join(dir, "bad.json");
    writeFileSync(file, JSON.stringify({ OperatorEmail: "nobody", InstanceType: "t2.micro" }));
    const { status, stdout, stderr } = await runCli(["deploy", "--parameters", file, "--dry-run"]);
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

  test("usage errors print the usage, exit 2", async () => {
    const { status, stderr } = await runCli(["deploy", "--dry-run"]);
    assert.equal(status, 2);
    assert.match(stderr, /^deploy needs --parameters <file>.*\nusage:\n/s);
  });

  test("destroy --dry-run says what is retained", async () => {
    const { status, stdout } = await runCli([
      "destroy",
      "--stack-name",
      "fleetline-prod",
      "--dry-run",
    ]);
    assert.equal(status, 0);
    assert.match(stdout, /^fleetline destroy \(dry run: no AWS calls\)\n/);
    assert.match(stdout, /retained when the stack is deleted/);
    assert.match(
      stdout,
      /\(AWS::DynamoDB::Table\)\n.*\(AWS::S3::Bucket\)\n.*\(AWS::S3::Bucket\)\n$/,
    );
  });
});

// ---- The AWS conversation, through the wire protocols (test/support/fake-aws.ts) ----

const VPC = "AWS::EC2::VPC";
const ASG = "AWS::AutoScaling::AutoScalingGroup";
const NO_SIGNAL =
  "Received 0 SUCCESS signal(s) out of 2.  Unable to satisfy 100% MinSuccessfulInstancesPercent requirement";

/** A stack that was created once and is settled: the start of every update scenario. */
const created: readonly StackStep[] = [
  { status: "CREATE_IN_PROGRESS", reason: "User Initiated" },
  { status: "CREATE_COMPLETE" },
];

/** The steps of a creation whose Auto Scaling group never gets its signals. */
const failedCreation: readonly StackStep[] = [
  { status: "CREATE_IN_PROGRESS", reason: "User Initiated" },
  {
    status: "CREATE_IN_PROGRESS",
    events: [
      { logicalId: "NetworkVpc", type: VPC, status: "CREATE_IN_PROGRESS" },
      { logicalId: "NetworkVpc", type: VPC, status: "CREATE_COMPLETE" },
      { logicalId: "FleetGroupASGF037160E", type: ASG, status: "CREATE_IN_PROGRESS" },
    ],
  },
  {
    status: "ROLLBACK_IN_PROGRESS",
    reason: "The following resource(s) failed to create: [FleetGroupASGF037160E].",
    events: [
      { logicalId: "FleetGroupASGF037160E", type: ASG, status: "CREATE_FAILED", reason: NO_SIGNAL },
    ],
  },
  {
    status: "ROLLBACK_COMPLETE",
    events: [
      { logicalId: "FleetGroupASGF037160E", type: ASG, status: "DELETE_COMPLETE" },
      { logicalId: "NetworkVpc", type: VPC, status: "DELETE_COMPLETE" },
    ],
  },
];

/** The steps of an update whose replacement instances fail, rolled back to `end`. */
function failedUpdate(end: string): StackStep[] {
  return [
    { status: "UPDATE_IN_PROGRESS", reason: "User Initiated" },
    {
      status: "UPDATE_ROLLBACK_IN_PROGRESS",
      reason: "The following resource(s) failed to update: [FleetGroupASGF037160E].",
      events: [
        {
          logicalId: "FleetGroupASGF037160E",
          type: ASG,
          status: "UPDATE_FAILED",
          reason: NO_SIGNAL,
        },
      ],
    },
    { status: end },
  ];
}

/** Starts a fake for one test, closed when the test ends. */
async function fakeAws(t: TestContext, scenario: Scenario): Promise<FakeAws> {
  const fake = await startFakeAws(scenario);
  t.after(() => fake.close());
  return fake;
}

const deployArgs = ["deploy", "--parameters", examplePath, "--region", "eu-west-3", "--yes"];

/** The real SDK clients, pointed at the fake with `endpoint` (for in-process runs). */
function sdkClients(t: TestContext, fake: FakeAws): AwsClients {
  const config = {
    region: "eu-west-3",
    endpoint: fake.url,
    credentials: { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "fake" },
  };
  const cloudformation = new CloudFormationClient(config);
  const s3 = new S3Client(config);
  const sts = new STSClient(config);
  const elbv2 = new ElasticLoadBalancingV2Client(config);
  t.after(() => {
    cloudformation.destroy();
    s3.destroy();
    sts.destroy();
    elbv2.destroy();
  });
  return { cloudformation, s3, sts, elbv2, region: async () => "eu-west-3" };
}

const fast: Omit<OperationOptions, "yes"> = {
  changeSetWait: { minDelay: 0.02, maxDelay: 0.05, maxWaitTime: 10 },
  stackWait: { minDelay: 0.02, maxDelay: 0.05, maxWaitTime: 10 },
};

function fakeTerminal(answer: string): Terminal & { text: () => string; asked: string[] } {
  const out: string[] = [];
  const asked: string[] = [];
  return {
    out: (t) => out.push(t),
    ask: async (q) => {
      asked.push(q);
      return answer;
    },
    text: () => out.join(""),
    asked,
  };
}

function examplePlan(command: "deploy" | "destroy"): Plan {
  const parsed = parseParameterFile(readFileSync(examplePath, "utf8"));
  const check = checkParameters(parsed.entries, template.Parameters);
  return buildPlan(
    { command, parametersFile: examplePath, yes: false, dryRun: false, existing: [] },
    "cloudformation/fleetline.template.json",
    template,
    check,
  );
}

/** destroyStack run in process with the SDK clients pointed at the fake, answering `answer`. */
async function destroyInProcess(
  t: TestContext,
  fake: FakeAws,
  options: { readonly answer: string; readonly yes: boolean },
): Promise<{ code: number; term: ReturnType<typeof fakeTerminal> }> {
  const term = fakeTerminal(options.answer);
  const code = await destroyStack(sdkClients(t, fake), examplePlan("destroy"), term, {
    yes: options.yes,
    ...fast,
  });
  return { code, term };
}

/** The block printed after a failure: the failed events, oldest first. */
function failedBlock(stdout: string): string {
  const start = stdout.indexOf("failed events (oldest first");
  assert.notEqual(start, -1, `no failed-events block in:\n${stdout}`);
  return stdout.slice(start);
}

describe("npm run deploy against the wire protocols", () => {
  test("creates: uploads, lists the change set, executes, streams events, prints outputs, exit 0", async (t) => {
    const fake = await fakeAws(t, {
      changeSet: {
        changes: [
          { action: "Add", type: VPC, logicalId: "NetworkVpc" },
          { action: "Add", type: ASG, logicalId: "FleetGroupASGF037160E" },
        ],
      },
      execution: [
        failedCreation[0]!,
        failedCreation[1]!,
        {
          status: "CREATE_COMPLETE",
          events: [{ logicalId: "FleetGroupASGF037160E", type: ASG, status: "CREATE_COMPLETE" }],
        },
      ],
      outputs: {
        SiteUrl: "https://d111111abcdef8.cloudfront.net",
        SignInUrl: "https://d111111abcdef8.cloudfront.net/auth/sign-in",
      },
      // Transient errors: the SDK's retries absorb them.
      faults: {
        DescribeChangeSet: [{ status: 500, code: "InternalFailure", message: "try again" }],
        DescribeStacks: [{ status: 400, code: "Throttling", message: "Rate exceeded" }],
      },
    });
    const { status, stdout, stderr } = await runCli(deployArgs, fake);
    assert.equal(status, 0, stdout + stderr);
    const bucket = "fleetline-templates-123456789012-eu-west-3";
    assert.deepEqual(
      fake.actions().slice(0, 2),
      ["DescribeStacks", "DescribeStacks"],
      "the throttled call was retried by the SDK",
    );
    const sequence = fake.actions().filter((a, i, all) => a !== all[i - 1]);
    assert.deepEqual(sequence.slice(0, 9), [
      "DescribeStacks",
      "GetCallerIdentity",
      "HeadBucket",
      "CreateBucket",
      "PutPublicAccessBlock",
      "PutObject",
      "CreateChangeSet",
      "DescribeChangeSet",
      "DescribeStackEvents",
    ]);
    assert.ok(fake.actions().includes("ExecuteChangeSet"));
    assert.equal(fake.actions().filter((a) => a === "ExecuteChangeSet").length, 1);
    // The body uploaded is the committed template, minified, under its hash.
    assert.equal(fake.objects.size, 1);
    const [objectPath, body] = [...fake.objects][0]!;
    assert.match(objectPath!, new RegExp(`^${bucket}/fleetline-prod/[0-9a-f]{16}\\.json$`));
    assert.equal(body, JSON.stringify(template));
    const create = fake.calls.find((c) => c.action === "CreateChangeSet")!.params;
    assert.equal(create.ChangeSetType, "CREATE");
    assert.equal(create["Capabilities.member.1"], "CAPABILITY_IAM");
    assert.equal(
      create.TemplateURL,
      `https://${bucket}.s3.eu-west-3.amazonaws.com/${objectPath!.slice(bucket.length + 1)}`,
    );
    // Every template parameter is sent, as the query protocol numbers list members.
    const sent = Object.keys(template.Parameters).map((_, i) => [
      create[`Parameters.member.${i + 1}.ParameterKey`],
      create[`Parameters.member.${i + 1}.ParameterValue`],
    ]);
    assert.deepEqual(
      sent.map(([key]) => key),
      Object.keys(template.Parameters),
    );
    assert.deepEqual(
      sent.find(([key]) => key === "OperatorEmail"),
      ["OperatorEmail", "ops@example.com"],
    );

    assert.match(
      stdout,
      /\n2 change\(s\):\n {2}Add {5}AWS::EC2::VPC +NetworkVpc\n {2}Add {5}AWS::AutoScaling/,
    );
    const events = stdout.slice(stdout.indexOf("change(s)"));
    assert.doesNotMatch(
      events,
      /REVIEW_IN_PROGRESS/,
      "events from before the execution are not shown",
    );
    const order = [
      /CREATE_IN_PROGRESS +AWS::CloudFormation::Stack +fleetline-prod {2}User Initiated/,
      /CREATE_IN_PROGRESS +AWS::EC2::VPC +NetworkVpc/,
      /CREATE_COMPLETE +AWS::EC2::VPC +NetworkVpc/,
      /CREATE_COMPLETE +AWS::AutoScaling::AutoScalingGroup/,
      /CREATE_COMPLETE +AWS::CloudFormation::Stack +fleetline-prod/,
    ].map((re) => events.search(re));
    assert.ok(
      order.every((at, i) => at >= 0 && (i === 0 || at > order[i - 1]!)),
      events,
    );
    assert.match(
      stdout,
      /stack fleetline-prod: CREATE_COMPLETE\n {2}SiteUrl +https:\/\/d111111abcdef8\.cloudfront\.net\n {2}SignInUrl +\S+\n\nSign in:\n/,
    );
    // How the first operator gets in: the invitation to the parameter file's address.
    const help = stdout.slice(stdout.indexOf("Sign in:"));
    assert.match(help, /e-mailed ops@example\.com a temporary password/);
    assert.match(help, /Open https:\/\/d111111abcdef8\.cloudfront\.net\/auth\/sign-in /);
    assert.match(help, /authenticator app/);
  });

  test("a creation that rolls back exits 1 with the failed events, and no outputs", async (t) => {
    const fake = await fakeAws(t, { execution: failedCreation, outputs: { SiteUrl: "x" } });
    const { status, stdout } = await runCli(deployArgs, fake);
    assert.equal(status, 1, stdout);
    assert.match(stdout, /\nstack fleetline-prod: ROLLBACK_COMPLETE\n/);
    const block = failedBlock(stdout);
    assert.match(
      block,
      /\n {2}\d\d:\d\d:\d\d {2}CREATE_FAILED +AWS::AutoScaling::AutoScalingGroup +FleetGroupASGF037160E {2}Received 0 SUCCESS signal\(s\) out of 2\./,
    );
    assert.equal(block.match(/_FAILED/g)?.length, 1, block);
    assert.doesNotMatch(stdout, /SiteUrl/);
  });

  test("an update that rolls back (UPDATE_ROLLBACK_COMPLETE) exits 1 with the failed events", async (t) => {
    const fake = await fakeAws(t, {
      history: created,
      execution: failedUpdate("UPDATE_ROLLBACK_COMPLETE"),
    });
    const { status, stdout } = await runCli(deployArgs, fake);
    assert.equal(status, 1, stdout);
    assert.equal(
      fake.calls.find((c) => c.action === "CreateChangeSet")?.params.ChangeSetType,
      "UPDATE",
    );
    assert.match(stdout, /\nstack fleetline-prod: UPDATE_ROLLBACK_COMPLETE\n/);
    assert.match(
      failedBlock(stdout),
      /UPDATE_FAILED +AWS::AutoScaling::AutoScalingGroup +FleetGroupASGF037160E {2}Received 0/,
    );
  });

  test("a stack in progress is refused before any change set, exit 1", async (t) => {
    const fake = await fakeAws(t, {
      history: [...created, { status: "UPDATE_IN_PROGRESS", reason: "User Initiated" }],
    });
    const { status, stdout } = await runCli(deployArgs, fake);
    assert.equal(status, 1, stdout);
    assert.match(
      stdout,
      /\nstack fleetline-prod is busy \(UPDATE_IN_PROGRESS\): another operation is running on it\. Nothing was changed; wait until it settles/,
    );
    assert.deepEqual(fake.actions(), ["DescribeStacks"]);
  });

  test("a change set that fails for another reason than 'no changes' exits 1 with the reason", async (t) => {
    const reason =
      "Parameter 'LatestAmiId' must be one of AllowedValues or the SSM parameter /aws/service/x does not exist";
    const fake = await fakeAws(t, {
      history: created,
      changeSet: { statuses: ["CREATE_PENDING", "CREATE_IN_PROGRESS", "FAILED"], reason },
    });
    const { status, stdout } = await runCli(deployArgs, fake);
    assert.equal(status, 1, stdout);
    assert.ok(stdout.includes(`\nchange set failed: ${reason}\nnothing was executed\n`), stdout);
    assert.ok(!fake.actions().includes("ExecuteChangeSet"));
    assert.ok(!fake.actions().includes("DeleteChangeSet"), "a failed change set stays for review");
  });

  test("no changes: says so, deletes the empty change set, exit 0", async (t) => {
    const fake = await fakeAws(t, {
      history: created,
      changeSet: {
        statuses: ["FAILED"],
        reason:
          "The submitted information didn't contain changes. Submit different information to create a change set.",
      },
    });
    const { status, stdout } = await runCli(deployArgs, fake);
    assert.equal(status, 0, stdout);
    assert.match(stdout, /\nno changes: stack fleetline-prod already matches/);
    assert.ok(fake.actions().includes("DeleteChangeSet"));
    assert.ok(!fake.actions().includes("ExecuteChangeSet"));
  });

  test("a change set of several pages is listed whole", async (t) => {
    const changes = Array.from({ length: 7 }, (_, i) => ({
      action: "Modify" as const,
      type: "AWS::IAM::Role",
      logicalId: `Role${i + 1}`,
      replacement: i === 6 ? ("True" as const) : undefined,
    }));
    const fake = await fakeAws(t, {
      history: created,
      changeSet: { changes, pageSize: 3 },
      execution: [{ status: "UPDATE_IN_PROGRESS" }, { status: "UPDATE_COMPLETE" }],
    });
    const { status, stdout } = await runCli(deployArgs, fake);
    assert.equal(status, 0, stdout);
    const pages = fake.calls.filter((c) => c.action === "DescribeChangeSet" && c.params.NextToken);
    assert.deepEqual(
      pages.map((c) => c.params.NextToken),
      ["3", "6"],
    );
    assert.match(stdout, /\n7 change\(s\):\n/);
    for (let i = 1; i <= 7; i++)
      assert.match(stdout, new RegExp(`Modify +AWS::IAM::Role +Role${i}\\b`));
    assert.match(stdout, /Role7 {2}REPLACEMENT\n/);
  });

  test("a stack that never settles: the waiter gives up, exit 1, saying CloudFormation carries on", async (t) => {
    const fake = await fakeAws(t, { execution: [{ status: "CREATE_IN_PROGRESS" }] });
    const { status, stdout } = await runCli(deployArgs, fake, {
      FLEETLINE_DEPLOY_MAX_WAIT_SECONDS: "1",
    });
    assert.equal(status, 1, stdout);
    assert.match(
      stdout,
      /stack fleetline-prod: CREATE_IN_PROGRESS\nstill not settled after 1 s; CloudFormation carries on/,
    );
  });

  test("without --yes and without a terminal it stops before executing, exit 2", async (t) => {
    const fake = await fakeAws(t, {});
    const { status, stderr } = await runCli(deployArgs.slice(0, -1), fake);
    assert.equal(status, 2);
    assert.match(stderr, /no terminal to ask on; pass --yes/);
    assert.ok(!fake.actions().includes("ExecuteChangeSet"));
  });

  test("a template bucket owned by someone else stops the run, exit 1, naming --template-bucket", async (t) => {
    const fake = await fakeAws(t, {
      faults: { HeadBucket: [{ status: 403, code: "Forbidden", message: "" }] },
    });
    const { status, stderr } = await runCli(deployArgs, fake);
    assert.equal(status, 1);
    assert.match(
      stderr,
      /^Error: template bucket fleetline-templates-123456789012-eu-west-3 is not usable: access denied \(HTTP 403\): it belongs to another account, or these credentials may not use it; pass --template-bucket <a bucket you own>$/m,
    );
    assert.ok(!fake.actions().includes("PutObject"));
    assert.ok(!fake.actions().includes("CreateChangeSet"));
  });

  test("no credentials: exit 1 saying so, and nothing reaches the endpoint", async (t) => {
    const fake = await fakeAws(t, {});
    const { status, stderr } = await runCli(deployArgs, fake, {
      AWS_ACCESS_KEY_ID: undefined,
      AWS_SECRET_ACCESS_KEY: undefined,
    });
    assert.equal(status, 1);
    assert.match(stderr, /^AWS credentials: .*\(configure them, or pass --profile\)$/m);
    assert.deepEqual(fake.calls, []);
  });

  test("--dry-run makes no request even with endpoints and credentials set", async (t) => {
    const fake = await fakeAws(t, {});
    const { status } = await runCli(["deploy", "--parameters", examplePath, "--dry-run"], fake);
    assert.equal(status, 0);
    assert.deepEqual(fake.calls, []);
  });

  test("a bad FLEETLINE_DEPLOY_POLL_SECONDS is a usage error, exit 2, before any request", async (t) => {
    const fake = await fakeAws(t, {});
    const { status, stderr } = await runCli(deployArgs, fake, {
      FLEETLINE_DEPLOY_POLL_SECONDS: "soon",
    });
    assert.equal(status, 2);
    assert.match(stderr, /FLEETLINE_DEPLOY_POLL_SECONDS=soon: expected a number of seconds > 0/);
    assert.deepEqual(fake.calls, []);
  });
});

describe("deploy outcomes (in process, real SDK clients against the fake)", () => {
  const endings: ReadonlyArray<readonly [string, readonly StackStep[], readonly StackStep[]]> = [
    ["ROLLBACK_FAILED", [], [...failedCreation.slice(0, 3), { status: "ROLLBACK_FAILED" }]],
    ["UPDATE_ROLLBACK_FAILED", created, failedUpdate("UPDATE_ROLLBACK_FAILED")],
    [
      "UPDATE_FAILED",
      created,
      [
        { status: "UPDATE_IN_PROGRESS" },
        {
          status: "UPDATE_FAILED",
          events: [
            {
              logicalId: "FleetGroupASGF037160E",
              type: ASG,
              status: "UPDATE_FAILED",
              reason: NO_SIGNAL,
            },
          ],
        },
      ],
    ],
  ];
  for (const [end, history, execution] of endings) {
    test(`a run that ends in ${end} exits 1 with the failed events`, async (t) => {
      const fake = await fakeAws(t, { history, execution });
      const term = fakeTerminal("");
      const code = await deployStack(sdkClients(t, fake), examplePlan("deploy"), term, {
        yes: true,
        ...fast,
      });
      assert.equal(code, 1, term.text());
      assert.match(term.text(), new RegExp(`\\nstack fleetline-prod: ${end}\\n`));
      assert.match(
        failedBlock(term.text()),
        /_FAILED +AWS::AutoScaling::AutoScalingGroup +FleetGroupASGF037160E {2}Received 0/,
      );
    });
  }

  for (const busy of [
    "CREATE_IN_PROGRESS",
    "UPDATE_ROLLBACK_IN_PROGRESS",
    "DELETE_IN_PROGRESS",
    "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
  ]) {
    test(`a stack in ${busy} is refused, exit 1`, async (t) => {
      const fake = await fakeAws(t, { history: [...created, { status: busy }] });
      const term = fakeTerminal("");
      const code = await deployStack(sdkClients(t, fake), examplePlan("deploy"), term, {
        yes: true,
        ...fast,
      });
      assert.equal(code, 1);
      assert.match(term.text(), new RegExp(`^stack fleetline-prod is busy \\(${busy}\\)`));
      assert.deepEqual(fake.actions(), ["DescribeStacks"]);
    });
  }

  test("a stack whose creation rolled back is refused, with that creation's failed events", async (t) => {
    const fake = await fakeAws(t, { history: failedCreation });
    const term = fakeTerminal("");
    const code = await deployStack(sdkClients(t, fake), examplePlan("deploy"), term, {
      yes: true,
      ...fast,
    });
    assert.equal(code, 1);
    assert.match(
      term.text(),
      /^stack fleetline-prod failed its creation \(ROLLBACK_COMPLETE\) .*run npm run destroy first/,
    );
    assert.match(
      failedBlock(term.text()),
      /CREATE_FAILED +AWS::AutoScaling::AutoScalingGroup +FleetGroupASGF037160E {2}Received 0/,
    );
    assert.ok(!fake.actions().includes("CreateChangeSet"));
  });

  test("a stack left UPDATE_ROLLBACK_FAILED is refused with its last operation's failures only", async (t) => {
    const old = { logicalId: "OldFailure", type: ASG, status: "UPDATE_FAILED", reason: "long ago" };
    const fake = await fakeAws(t, {
      history: [
        ...created,
        { status: "UPDATE_IN_PROGRESS", events: [] },
        { status: "UPDATE_ROLLBACK_IN_PROGRESS", events: [old] },
        { status: "UPDATE_ROLLBACK_COMPLETE" },
        { status: "UPDATE_IN_PROGRESS", reason: "User Initiated" },
        {
          status: "UPDATE_ROLLBACK_IN_PROGRESS",
          events: [
            { logicalId: "NewFailure", type: ASG, status: "UPDATE_FAILED", reason: NO_SIGNAL },
          ],
        },
        {
          status: "UPDATE_ROLLBACK_FAILED",
          events: [
            {
              logicalId: "CacheReplicationGroup",
              type: "AWS::ElastiCache::ReplicationGroup",
              status: "UPDATE_FAILED",
              reason: "cannot roll back",
            },
          ],
        },
      ],
      eventPageSize: 2, // the failures span several pages of events
    });
    const term = fakeTerminal("");
    const code = await deployStack(sdkClients(t, fake), examplePlan("deploy"), term, {
      yes: true,
      ...fast,
    });
    assert.equal(code, 1);
    assert.match(term.text(), /continue-update-rollback --stack-name fleetline-prod/);
    const block = failedBlock(term.text());
    assert.ok(block.indexOf("NewFailure") < block.indexOf("CacheReplicationGroup"), block);
    assert.ok(block.indexOf("NewFailure") > 0, block);
    assert.doesNotMatch(block, /OldFailure/);
  });

  test("CreateChangeSet refused by CloudFormation: exit 1 with its reason", async (t) => {
    const fake = await fakeAws(t, {
      history: created,
      createChangeSetError: {
        status: 400,
        code: "InsufficientCapabilitiesException",
        message: "Requires capabilities : [CAPABILITY_NAMED_IAM]",
      },
    });
    const term = fakeTerminal("");
    const code = await deployStack(sdkClients(t, fake), examplePlan("deploy"), term, {
      yes: true,
      ...fast,
    });
    assert.equal(code, 1);
    assert.match(
      term.text(),
      /change set could not be created: InsufficientCapabilitiesException: Requires capabilities : \[CAPABILITY_NAMED_IAM\]\n$/,
    );
  });

  test("a change set that cannot be executed: exit 1 with its execution status", async (t) => {
    const fake = await fakeAws(t, { history: created, changeSet: { executionStatus: "OBSOLETE" } });
    const term = fakeTerminal("");
    const code = await deployStack(sdkClients(t, fake), examplePlan("deploy"), term, {
      yes: true,
      ...fast,
    });
    assert.equal(code, 1);
    assert.match(term.text(), /cannot be executed \(execution status OBSOLETE\)/);
    assert.ok(!fake.actions().includes("ExecuteChangeSet"));
  });

  test("answering no leaves the change set unexecuted, exit 1", async (t) => {
    const fake = await fakeAws(t, { history: created });
    const term = fakeTerminal("");
    const code = await deployStack(sdkClients(t, fake), examplePlan("deploy"), term, {
      yes: false,
      ...fast,
    });
    assert.equal(code, 1);
    assert.deepEqual(term.asked, ["Execute this change set on fleetline-prod? [y/N] "]);
    assert.ok(!fake.actions().includes("ExecuteChangeSet"));
  });
});

const ALB = "AWS::ElasticLoadBalancingV2::LoadBalancer";
const albArn = (name: string) =>
  `arn:aws:elasticloadbalancing:eu-west-3:123456789012:loadbalancer/app/${name}/50dc6c495c0c9188`;

describe("npm run destroy against the wire protocols", () => {
  const resources = [
    { logicalId: "UsersTable7E9D0A63", physicalId: "fleetline-prod-UsersTable-XYZ" },
    { logicalId: "ArtifactsBucket88671897", physicalId: "fleetline-prod-artifacts-abc" },
    { logicalId: "NetworkVpc", physicalId: "vpc-1", type: VPC },
    { logicalId: "LoadBalancer8E47CE52", physicalId: albArn("fleetl-LoadB-1"), type: ALB },
  ];
  const deletion: StackStep[] = [
    { status: "DELETE_IN_PROGRESS", reason: "User Initiated" },
    {
      status: "DELETE_COMPLETE",
      events: [{ logicalId: "NetworkVpc", type: VPC, status: "DELETE_COMPLETE" }],
    },
  ];
  const destroyArgs = ["destroy", "--stack-name", "fleetline-prod", "--region", "eu-west-3"];
  /** The created stack with its resources, whose deletion goes as `deletion` unless told. */
  const createdStack = (more: Scenario = {}): Scenario => ({
    history: created,
    resources,
    execution: deletion,
    ...more,
  });

  /** Where each of `actions` first happens in the fake's log (-1: never). */
  const firstAt = (fake: FakeAws, ...actions: string[]) =>
    actions.map((a) => fake.actions().indexOf(a));

  test("names what is retained, deletes, follows to DELETE_COMPLETE, exit 0", async (t) => {
    const fake = await fakeAws(t, createdStack());
    const { status, stdout } = await runCli([...destroyArgs, "--yes"], fake);
    assert.equal(status, 0, stdout);
    assert.match(
      stdout,
      /these stay after deletion.*\n {2}AWS::DynamoDB::Table +fleetline-prod-UsersTable-XYZ\n {2}AWS::S3::Bucket +fleetline-prod-artifacts-abc\n/s,
    );
    assert.match(stdout, /DELETE_COMPLETE +AWS::EC2::VPC +NetworkVpc\n/);
    assert.match(stdout, /\nstack fleetline-prod: DELETE_COMPLETE\n/);
    assert.match(stdout, /aws s3 rb s3:\/\/fleetline-prod-artifacts-abc --force/);
    assert.match(stdout, /aws dynamodb delete-table --table-name fleetline-prod-UsersTable-XYZ/);
    assert.equal(fake.actions().filter((a) => a === "DeleteStack").length, 1);
  });

  test("turns off every load balancer's deletion protection, then deletes the stack", async (t) => {
    const second = albArn("fleetl-Inter-2");
    const fake = await fakeAws(t, {
      history: created,
      resources: [
        ...resources,
        { logicalId: "InternalLoadBalancer", physicalId: second, type: ALB },
        // Removed by an earlier rollback: nothing left to unprotect.
        {
          logicalId: "OldLoadBalancer",
          physicalId: albArn("old"),
          type: ALB,
          status: "DELETE_COMPLETE",
        },
      ],
      execution: deletion,
    });
    const { status, stdout } = await runCli([...destroyArgs, "--yes"], fake);
    assert.equal(status, 0, stdout);
    const lifted = fake.calls.filter((c) => c.action === "ModifyLoadBalancerAttributes");
    assert.deepEqual(
      lifted.map((c) => [c.service, c.params.Version, c.params.LoadBalancerArn]),
      [
        ["elasticloadbalancing", "2015-12-01", albArn("fleetl-LoadB-1")],
        ["elasticloadbalancing", "2015-12-01", second],
      ],
    );
    for (const c of lifted) {
      assert.equal(c.params["Attributes.member.1.Key"], "deletion_protection.enabled");
      assert.equal(c.params["Attributes.member.1.Value"], "false");
      assert.equal(c.params["Attributes.member.2.Key"], undefined, "only that attribute");
    }
    assert.deepEqual([...fake.protectedLoadBalancers], []);
    const lastLift = fake.calls.lastIndexOf(lifted.at(-1)!);
    const [deleteAt] = firstAt(fake, "DeleteStack");
    assert.ok(lastLift >= 0 && lastLift < deleteAt!, fake.actions().join(" "));
    // Announced before the question, done line by line after it.
    assert.match(
      stdout,
      new RegExp(
        `deletion protection is turned off, once you confirm, on:\\n {2}${ALB} ${albArn("fleetl-LoadB-1")}\\n {2}${ALB} ${second}\\n`,
      ),
    );
    assert.ok(
      stdout.includes(
        `turning off deletion protection of ${albArn("fleetl-LoadB-1")}\nturning off deletion protection of ${second}\n`,
      ),
      stdout,
    );
    assert.doesNotMatch(stdout, /loadbalancer\/app\/old\//);
  });

  test("a load balancer already deleted by hand is passed over, and the stack deleted", async (t) => {
    const fake = await fakeAws(
      t,
      createdStack({ deletedOutsideStack: [albArn("fleetl-LoadB-1")] }),
    );
    const { code, term } = await destroyInProcess(t, fake, { answer: "", yes: true });
    assert.equal(code, 0, term.text());
    assert.match(term.text(), /turning off deletion protection of .*\n {2}already gone\n/);
    assert.ok(fake.actions().includes("DeleteStack"));
  });

  test("ModifyLoadBalancerAttributes refused: exit 1, saying so, and DeleteStack is never called", async (t) => {
    const fake = await fakeAws(
      t,
      createdStack({
        faults: {
          ModifyLoadBalancerAttributes: [
            {
              status: 403,
              code: "AccessDenied",
              message:
                "User: arn:aws:iam::123456789012:user/test is not authorized to perform: elasticloadbalancing:ModifyLoadBalancerAttributes",
            },
          ],
        },
      }),
    );
    const { status, stdout } = await runCli([...destroyArgs, "--yes"], fake);
    assert.equal(status, 1, stdout);
    assert.ok(
      stdout.includes(
        `\ncould not turn off deletion protection of ${albArn("fleetl-LoadB-1")}: AccessDenied: User: arn:aws:iam::123456789012:user/test is not authorized to perform: elasticloadbalancing:ModifyLoadBalancerAttributes\nthe stack was not deleted; these credentials need elasticloadbalancing:ModifyLoadBalancerAttributes on it, then destroy again\n`,
      ),
      stdout,
    );
    assert.equal(fake.actions().filter((a) => a === "ModifyLoadBalancerAttributes").length, 1);
    assert.ok(!fake.actions().includes("DeleteStack"));
    assert.deepEqual([...fake.protectedLoadBalancers], [albArn("fleetl-LoadB-1")]);
  });

  for (const [end, history] of [
    [
      "ROLLBACK_FAILED",
      [
        ...failedCreation.slice(0, 3),
        {
          status: "ROLLBACK_FAILED",
          reason: "The following resource(s) failed to delete: [LoadBalancer8E47CE52].",
          events: [
            {
              logicalId: "LoadBalancer8E47CE52",
              type: ALB,
              status: "DELETE_FAILED",
              reason: `Load balancer '${albArn("fleetl-LoadB-1")}' cannot be deleted because deletion protection is enabled`,
            },
          ],
        },
      ],
    ],
    [
      "DELETE_FAILED",
      [
        ...created,
        { status: "DELETE_IN_PROGRESS", reason: "User Initiated" },
        {
          status: "DELETE_FAILED",
          events: [
            {
              logicalId: "LoadBalancer8E47CE52",
              type: ALB,
              status: "DELETE_FAILED",
              reason: "deletion protection is enabled",
            },
          ],
        },
      ],
    ],
  ] as const) {
    test(`${end}: deploy refuses and names npm run destroy, which clears it`, async (t) => {
      const fake = await fakeAws(t, {
        history,
        resources: resources.map((r) =>
          r.type === ALB ? { ...r, status: "DELETE_FAILED" } : { ...r, status: "DELETE_COMPLETE" },
        ),
        execution: deletion,
      });
      const refused = await runCli(deployArgs, fake);
      assert.equal(refused.status, 1, refused.stdout);
      assert.match(
        refused.stdout,
        new RegExp(
          `\\nstack fleetline-prod is ${end} and cannot be updated: run npm run destroy, which turns off the load balancer's deletion protection \\(what usually blocks the deletion\\) and deletes the stack, then deploy again\\n`,
        ),
      );
      assert.match(
        failedBlock(refused.stdout),
        /DELETE_FAILED +AWS::ElasticLoadBalancingV2::LoadBalancer +LoadBalancer8E47CE52 .*deletion protection is enabled/,
      );
      assert.ok(!fake.actions().includes("CreateChangeSet"));

      const destroyed = await runCli([...destroyArgs, "--yes"], fake);
      assert.equal(destroyed.status, 0, destroyed.stdout + destroyed.stderr);
      assert.match(destroyed.stdout, new RegExp(`deleting stack fleetline-prod \\(${end}\\)`));
      const [lift, del] = firstAt(fake, "ModifyLoadBalancerAttributes", "DeleteStack");
      assert.ok(lift! >= 0 && lift! < del!, fake.actions().join(" "));
      assert.match(destroyed.stdout, /\nstack fleetline-prod: DELETE_COMPLETE\n/);
    });
  }

  test("a deletion that fails exits 1 with the failed events", async (t) => {
    const fake = await fakeAws(t, {
      history: created,
      resources,
      execution: [
        deletion[0]!,
        {
          status: "DELETE_FAILED",
          reason: "The following resource(s) failed to delete: [NetworkVpc].",
          events: [
            {
              logicalId: "NetworkVpc",
              type: VPC,
              status: "DELETE_FAILED",
              reason: "has dependencies",
            },
          ],
        },
      ],
    });
    const { code, term } = await destroyInProcess(t, fake, { answer: "", yes: true });
    assert.equal(code, 1, term.text());
    assert.match(
      term.text(),
      /\nstack fleetline-prod: DELETE_FAILED\nreason: The following resource/,
    );
    assert.match(
      failedBlock(term.text()),
      /DELETE_FAILED +AWS::EC2::VPC +NetworkVpc {2}has dependencies/,
    );
  });

  for (const answer of ["no", "yes"]) {
    test(`answering "${answer}" deletes nothing and leaves the load balancer protected`, async (t) => {
      const fake = await fakeAws(t, createdStack({ execution: undefined }));
      const { code, term } = await destroyInProcess(t, fake, { answer, yes: false });
      assert.equal(code, 1);
      assert.deepEqual(term.asked, ["Type the stack name (fleetline-prod) to delete it: "]);
      assert.match(term.text(), /\nnot deleted\n$/);
      assert.ok(!fake.actions().includes("DeleteStack"));
      assert.deepEqual(
        fake.calls.filter((c) => c.service === "elasticloadbalancing"),
        [],
      );
      assert.deepEqual([...fake.protectedLoadBalancers], [albArn("fleetl-LoadB-1")]);
    });
  }

  test("a busy stack is not deleted", async (t) => {
    const fake = await fakeAws(t, {
      history: [...created, { status: "UPDATE_IN_PROGRESS" }],
      resources,
    });
    const { code, term } = await destroyInProcess(t, fake, { answer: "fleetline-prod", yes: true });
    assert.equal(code, 1);
    assert.match(term.text(), /is busy \(UPDATE_IN_PROGRESS\): nothing was deleted/);
    assert.ok(!fake.actions().includes("DeleteStack"));
    assert.ok(!fake.actions().includes("ModifyLoadBalancerAttributes"));
  });

  test("a missing stack is not an error", async (t) => {
    const fake = await fakeAws(t, {});
    const { code, term } = await destroyInProcess(t, fake, { answer: "", yes: false });
    assert.equal(code, 0);
    assert.match(term.text(), /does not exist in eu-west-3; nothing to delete/);
  });
});

describe("a silent endpoint", () => {
  // Seconds per attempt; the CLI makes 3 attempts (the SDK's retries back off for < 1 s).
  const limit = { FLEETLINE_DEPLOY_REQUEST_TIMEOUT_SECONDS: "0.5" };
  const resources = [
    { logicalId: "LoadBalancer8E47CE52", physicalId: albArn("fleetl-LoadB-1"), type: ALB },
  ];
  const destroyArgs = [
    "destroy",
    "--stack-name",
    "fleetline-prod",
    "--region",
    "eu-west-3",
    "--yes",
  ];

  test("a call that is never answered ends the CLI with exit 1, naming it, within the bound", {
    timeout: 30_000,
  }, async (t) => {
    const fake = await fakeAws(t, { hang: { DescribeStacks: [1, 2, 3] } });
    const started = Date.now();
    const { status, stdout, stderr } = await runCli(deployArgs, fake, limit);
    const elapsed = Date.now() - started;
    assert.equal(status, 1, stdout + stderr);
    assert.match(
      stderr,
      /^CloudFormation DescribeStacks: no answer within 0\.5 s, 3 attempt\(s\) \(FLEETLINE_DEPLOY_REQUEST_TIMEOUT_SECONDS sets the limit\); check the network/m,
    );
    assert.deepEqual(fake.actions(), ["DescribeStacks", "DescribeStacks", "DescribeStacks"]);
    // 3 × 0.5 s, the retries' back-off, and starting node with tsx.
    assert.ok(elapsed < 10_000, `took ${elapsed} ms`);
  });

  test("an answer whose body stops coming ends the CLI likewise", {
    timeout: 30_000,
  }, async (t) => {
    const fake = await fakeAws(t, { stall: { DescribeStacks: [1, 2, 3] } });
    const { status, stdout, stderr } = await runCli(deployArgs, fake, limit);
    assert.equal(status, 1, stdout + stderr);
    assert.match(
      stderr,
      /^CloudFormation DescribeStacks: no answer within 0\.5 s, 3 attempt\(s\)/m,
    );
    assert.deepEqual(fake.actions(), ["DescribeStacks", "DescribeStacks", "DescribeStacks"]);
  });

  test("one unanswered call is retried after the timeout, and the run goes on", {
    timeout: 30_000,
  }, async (t) => {
    const fake = await fakeAws(t, {
      history: created,
      resources,
      execution: [{ status: "DELETE_IN_PROGRESS" }, { status: "DELETE_COMPLETE" }],
      hang: { ModifyLoadBalancerAttributes: [1] },
    });
    const { status, stdout, stderr } = await runCli(destroyArgs, fake, limit);
    assert.equal(status, 0, stdout + stderr);
    assert.equal(fake.actions().filter((a) => a === "ModifyLoadBalancerAttributes").length, 2);
    assert.deepEqual([...fake.protectedLoadBalancers], []);
  });

  test("events that stop coming stop the wait too, instead of waiting out the waiter", {
    timeout: 30_000,
  }, async (t) => {
    // The first DescribeStackEvents is taken before DeleteStack; the next ones follow it.
    const fake = await fakeAws(t, {
      history: created,
      resources,
      execution: [{ status: "DELETE_IN_PROGRESS" }],
      hang: { DescribeStackEvents: [2, 3, 4] },
    });
    const started = Date.now();
    const { status, stderr } = await runCli(destroyArgs, fake, {
      ...limit,
      FLEETLINE_DEPLOY_MAX_WAIT_SECONDS: "60",
    });
    const elapsed = Date.now() - started;
    assert.equal(status, 1, stderr);
    assert.match(
      stderr,
      /^CloudFormation DescribeStackEvents: no answer within 0\.5 s, 3 attempt\(s\)/m,
    );
    assert.ok(elapsed < 15_000, `took ${elapsed} ms, the waiter was not stopped`);
  });

  test("a bad FLEETLINE_DEPLOY_REQUEST_TIMEOUT_SECONDS is a usage error, exit 2, before any request", async (t) => {
    const fake = await fakeAws(t, {});
    const { status, stderr } = await runCli(deployArgs, fake, {
      FLEETLINE_DEPLOY_REQUEST_TIMEOUT_SECONDS: "0",
    });
    assert.equal(status, 2);
    assert.match(
      stderr,
      /FLEETLINE_DEPLOY_REQUEST_TIMEOUT_SECONDS=0: expected a number of seconds > 0/,
    );
    assert.deepEqual(fake.calls, []);
  });
});

// ---- The layered pieces (cloudformation/pieces/) ----

/** A piece's committed template (cloudformation/pieces/). */
const committedPiece = (entry: PieceEntry) =>
  JSON.parse(
    readFileSync(new URL(`../../cloudformation/pieces/${entry.file}`, import.meta.url), "utf8"),
  ) as TemplateDocument & {
    Outputs: Record<string, { Export?: { Name: { "Fn::Sub": string } } }>;
  };
const pieceParameters = (entry: PieceEntry): string[] =>
  Object.keys(committedPiece(entry).Parameters);
const piecesArgs = [...deployArgs, "--pieces"];
/** What a created piece exports, by the committed template (AppName fleetline, EnvName prod). */
const exportsOf = (entry: PieceEntry): Record<string, string> => {
  const outputs = committedPiece(entry).Outputs;
  return Object.fromEntries(
    Object.values(outputs)
      .filter((o) => o.Export)
      .map((o) => {
        const name = o.Export!.Name["Fn::Sub"].replace(
          /^\$\{AppName\}-\$\{EnvName\}/,
          "fleetline-prod",
        );
        return [name, `${name}-value`];
      }),
  );
};
const byStack = (suffix: string) => piecesInOrder().find((p) => p.stackSuffix === suffix)!;
const stackOf = (suffix: string) => `fleetline-prod-${suffix}`;
/** The export names a piece's stack has, and those it imports, as the committed files say. */
const EXPORTS: Record<string, string[]> = {
  network: ["VpcId", "AppSubnet1", "CacheSubnet1"],
  data: ["UsersTableName", "UsersTableArn"],
  cache: ["CacheSecurityGroupId", "CacheAuthSecretArn"],
  fleet: ["ArtifactBucketName", "TargetGroupArn"],
  delivery: [],
};
const IMPORTS: Record<string, string[]> = {
  network: [],
  data: [],
  cache: ["VpcId", "CacheSubnet1"],
  fleet: ["VpcId", "AppSubnet1", "UsersTableName", "CacheSecurityGroupId"],
  delivery: ["ArtifactBucketName", "TargetGroupArn"],
};
const named = (keys: string[]) => keys.map((k) => `fleetline-prod-${k}`);

describe("pieces: --piece / --pieces", () => {
  test("--pieces --dry-run prints each piece's plan in order, with only its parameters, exit 0, no AWS", async () => {
    const { status, stdout, stderr } = await runCli([
      "deploy",
      "--pieces",
      "--parameters",
      examplePath,
      "--region",
      "eu-west-3",
      "--dry-run",
    ]);
    assert.equal(stderr, "");
    assert.equal(status, 0);
    const headers = [...stdout.matchAll(/^fleetline deploy: piece (\d) of 5, (\S+) \(dry run/gm)];
    assert.deepEqual(
      headers.map((m) => m[2]),
      ["01-network", "02-data", "03-cache", "04-fleet", "05-delivery"],
    );
    const blocks = stdout.split(/\n(?=fleetline deploy: piece)/);
    for (const [i, entry] of piecesInOrder().entries()) {
      const block = blocks[i]!;
      assert.match(block, new RegExp(`\\n {2}stack {8}${stackOf(entry.stackSuffix)}\\n`));
      const shown = [...block.matchAll(/^ {4}(\w+) {2,}/gm)].map((m) => m[1]);
      assert.deepEqual(shown, pieceParameters(entry), entry.file);
    }
    // Each plan names what its piece imports; the first two import nothing.
    assert.doesNotMatch(blocks[0]!, /\n {2}imports /);
    assert.match(
      blocks[3]!,
      /\n {2}imports {6}exports of the pieces before it[^\n]*\n(?: {4}\S+\n)*? {4}fleetline-prod-VpcId\n/,
    );
    // The fleet piece's template is over the inline limit: its plan says it is uploaded.
    assert.match(blocks[3]!, /upload the template to s3:.*\/fleetline-prod-fleet\//);
    assert.match(blocks[1]!, /UsersTable7E9D0A63 \(AWS::DynamoDB::Table\)/);
  });

  test("--existing network,data plans the bring-your-own pieces with their parameters", async () => {
    const file = join(dir, "existing.json");
    const base = JSON.parse(readFileSync(examplePath, "utf8")) as Array<{ ParameterKey: string }>;
    writeFileSync(
      file,
      JSON.stringify([
        ...base,
        { ParameterKey: "ExistingVpcId", ParameterValue: "vpc-0123456789abcdef0" },
        { ParameterKey: "ExistingVpcCidr", ParameterValue: "172.31.0.0/16" },
        { ParameterKey: "ExistingPublicSubnetIds", ParameterValue: "subnet-1,subnet-2" },
        { ParameterKey: "ExistingAppSubnetIds", ParameterValue: "subnet-3,subnet-4" },
        { ParameterKey: "ExistingAppSubnetCidrs", ParameterValue: "172.31.32.0/20,172.31.48.0/20" },
        { ParameterKey: "ExistingCacheSubnetIds", ParameterValue: "subnet-5,subnet-6" },
        { ParameterKey: "ExistingTableName", ParameterValue: "legacy-users" },
      ]),
    );
    const { status, stdout, stderr } = await runCli([
      "deploy",
      "--pieces",
      "--existing",
      "network,data",
      "--parameters",
      file,
      "--dry-run",
    ]);
    assert.equal(stderr, "");
    assert.equal(status, 0);
    assert.deepEqual(
      [...stdout.matchAll(/^fleetline deploy: piece \d of 5, (\S+)/gm)].map((m) => m[1]),
      ["01-network.existing", "02-data.existing", "03-cache", "04-fleet", "05-delivery"],
    );
    assert.match(stdout, /\n {2}stack {8}fleetline-prod-network\n/);
    assert.match(stdout, /\n {4}ExistingTableName +legacy-users\n/);
    // The same file serves the default pieces: the Existing* values are simply not theirs.
    const plain = await runCli(["deploy", "--pieces", "--parameters", file, "--dry-run"]);
    assert.equal(plain.status, 0, plain.stderr);
    assert.doesNotMatch(plain.stdout, /Existing/);
  });

  test("a bring-your-own piece without its values, or an unknown name, stops before AWS, exit 2", async () => {
    const missing = await runCli([
      "deploy",
      "--piece",
      "01-network.existing",
      "--parameters",
      examplePath,
      "--dry-run",
    ]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /ExistingVpcId: required \(no default\)/);
    const file = join(dir, "typo.json");
    writeFileSync(file, JSON.stringify({ OperatorEmail: "ops@example.com", CacheEngin: "valkey" }));
    const typo = await runCli(["deploy", "--piece", "cache", "--parameters", file, "--dry-run"]);
    assert.equal(typo.status, 2);
    assert.match(typo.stderr, /CacheEngin: unknown parameter; did you mean CacheEngine\?/);
  });

  test("destroy --pieces --dry-run plans the pieces in reverse order", async () => {
    const { status, stdout } = await runCli([
      "destroy",
      "--pieces",
      "--parameters",
      examplePath,
      "--dry-run",
    ]);
    assert.equal(status, 0);
    assert.deepEqual(
      [...stdout.matchAll(/^ {2}stack {8}(\S+)$/gm)].map((m) => m[1]),
      ["delivery", "fleet", "cache", "data", "network"].map(stackOf),
    );
  });

  const bad: ReadonlyArray<readonly [string[], RegExp]> = [
    [["deploy", "--parameters", "p", "--piece", "web"], /^--piece "web" is not a piece; expected /],
    [
      ["deploy", "--parameters", "p", "--piece", "cache", "--pieces"],
      /^give --piece <name> or --pieces, not both$/,
    ],
    [
      ["deploy", "--parameters", "p", "--existing", "network"],
      /^--existing only applies with --pieces/,
    ],
    [
      ["deploy", "--parameters", "p", "--pieces", "--existing", "cache"],
      /^--existing "cache": expected network, data/,
    ],
    [
      ["deploy", "--parameters", "p", "--pieces", "--stack-name", "x"],
      /^--stack-name does not apply to pieces/,
    ],
    [
      ["destroy", "--stack-name", "x", "--piece", "cache"],
      /^--stack-name does not apply to pieces/,
    ],
  ];
  for (const [argv, message] of bad) {
    test(`rejects ${JSON.stringify(argv)}`, () => {
      assert.throws(
        () => parseCliArgs(argv),
        (error: unknown) => error instanceof UsageError && message.test(error.message),
      );
    });
  }
  test("accepts a piece by name or by file stem", () => {
    for (const name of ["fleet", "04-fleet", "04-fleet.template.json"]) {
      assert.deepEqual(parseCliArgs(["deploy", "--parameters", "p", "--piece", name]).pieces, {
        kind: "one",
        name: "fleet",
      });
    }
    assert.equal(PIECE_CATALOG.length, 7);
  });

  const creation: StackStep[] = [
    { status: "CREATE_IN_PROGRESS", reason: "User Initiated" },
    { status: "CREATE_COMPLETE" },
  ];

  /** A piece whose creation succeeds and then exports what its template exports. */
  const creatingPiece = (suffix: string) => ({
    execution: creation,
    exports: exportsOf(byStack(suffix)),
  });

  test("--pieces deploys every piece in order over the wire, each with its own parameters and template", async (t) => {
    const fake = await fakeAws(t, {
      stacks: Object.fromEntries(
        piecesInOrder().map((p) => [stackOf(p.stackSuffix), creatingPiece(p.stackSuffix)]),
      ),
    });
    const { status, stdout, stderr } = await runCli(piecesArgs, fake);
    assert.equal(status, 0, stdout + stderr);
    const creates = fake.calls.filter((c) => c.action === "CreateChangeSet");
    assert.deepEqual(
      creates.map((c) => c.params.StackName),
      ["network", "data", "cache", "fleet", "delivery"].map(stackOf),
    );
    for (const [i, entry] of piecesInOrder().entries()) {
      const params = creates[i]!.params;
      const keys = Object.entries(params)
        .filter(([k]) => /^Parameters\.member\.\d+\.ParameterKey$/.test(k))
        .map(([, v]) => v);
      assert.deepEqual(keys, pieceParameters(entry), entry.file);
      const body =
        entry.name === "fleet"
          ? fake.objects.get(
              [...fake.objects.keys()].find((k) => k.includes("/fleetline-prod-fleet/"))!,
            )
          : params.TemplateBody;
      assert.deepEqual(JSON.parse(body ?? "null"), committedPiece(entry), entry.file);
    }
    // Each piece is followed to its end before the next one starts.
    const order = fake.calls
      .filter((c) => c.action === "CreateChangeSet" || c.action === "ExecuteChangeSet")
      .map((c) => `${c.action} ${c.params.StackName}`);
    assert.deepEqual(
      order,
      ["network", "data", "cache", "fleet", "delivery"].flatMap((s) => [
        `CreateChangeSet ${stackOf(s)}`,
        `ExecuteChangeSet ${stackOf(s)}`,
      ]),
    );
    assert.equal((stdout.match(/: CREATE_COMPLETE\n/g) ?? []).length, 5);
  });

  test("a piece that fails stops the run: the later ones are not attempted, exit 1", async (t) => {
    const fake = await fakeAws(t, {
      stacks: {
        [stackOf("network")]: creatingPiece("network"),
        [stackOf("data")]: creatingPiece("data"),
        [stackOf("cache")]: creatingPiece("cache"),
        [stackOf("fleet")]: { execution: failedCreation },
      },
    });
    const { status, stdout } = await runCli(piecesArgs, fake);
    assert.equal(status, 1, stdout);
    assert.match(stdout, /\nstack fleetline-prod-fleet: ROLLBACK_COMPLETE\n/);
    assert.match(
      stdout,
      /\nstopped at fleetline-prod-fleet; not attempted: fleetline-prod-delivery\n/,
    );
    assert.ok(
      !fake.calls.some((c) => c.params.StackName === stackOf("delivery")),
      "nothing sent for the delivery piece",
    );
  });

  test("a piece deployed before those it imports from is refused before any change set, naming what is missing", async (t) => {
    const fake = await fakeAws(t, {
      stacks: {
        [stackOf("network")]: { history: created, exports: exportsOf(byStack("network")) },
      },
    });
    const { status, stdout } = await runCli(
      ["deploy", "--piece", "fleet", "--parameters", examplePath, "--region", "eu-west-3", "--yes"],
      fake,
    );
    assert.equal(status, 1, stdout);
    assert.match(
      stdout,
      /\nstack fleetline-prod-fleet imports what no stack in eu-west-3 exports yet:\n(?: {2}\S+\n)+deploy the pieces before it first/,
    );
    assert.match(stdout, /\n {2}fleetline-prod-UsersTableArn\n/);
    assert.match(stdout, /\n {2}fleetline-prod-CacheAuthSecretArn\n/);
    // What 01-network exports is there: not listed as missing.
    const missing = stdout.slice(stdout.indexOf("exports yet:"));
    assert.doesNotMatch(missing, /fleetline-prod-VpcId\n/);
    assert.ok(fake.actions().includes("ListExports"));
    assert.ok(!fake.actions().includes("CreateChangeSet"));
    assert.equal(fake.objects.size, 0, "nothing uploaded");
  });

  /** All five pieces created, exporting and importing as the templates do. */
  const deployed = (): Scenario => ({
    stacks: Object.fromEntries(
      piecesInOrder().map((p) => [
        stackOf(p.stackSuffix),
        {
          history: created,
          execution: [
            { status: "DELETE_IN_PROGRESS", reason: "User Initiated" },
            { status: "DELETE_COMPLETE" },
          ],
          exports: Object.fromEntries(named(EXPORTS[p.stackSuffix]!).map((n) => [n, `${n}-value`])),
          imports: named(IMPORTS[p.stackSuffix]!),
          resources:
            p.name === "fleet"
              ? [
                  {
                    logicalId: "LoadBalancer8E47CE52",
                    physicalId: albArn("fleetl-LoadB-9"),
                    type: ALB,
                  },
                ]
              : [],
        },
      ]),
    ),
  });

  test("destroy --piece refuses a piece whose exports another piece imports, naming it, exit 1", async (t) => {
    const fake = await fakeAws(t, deployed());
    const { status, stdout } = await runCli(
      [
        "destroy",
        "--piece",
        "network",
        "--parameters",
        examplePath,
        "--region",
        "eu-west-3",
        "--yes",
      ],
      fake,
    );
    assert.equal(status, 1, stdout);
    assert.match(
      stdout,
      /\nstack fleetline-prod-network cannot be deleted: other stacks still import its exports\n {2}fleetline-prod-VpcId is imported by fleetline-prod-cache, fleetline-prod-fleet\n/,
    );
    assert.match(stdout, /\ndestroy fleetline-prod-cache, fleetline-prod-fleet first /);
    assert.ok(!fake.actions().includes("DeleteStack"));
    assert.ok(fake.actions().includes("ListImports"));
  });

  test("destroy --pieces deletes them in reverse order, each once nothing imports it any more", async (t) => {
    const fake = await fakeAws(t, deployed());
    const { status, stdout, stderr } = await runCli(
      ["destroy", "--pieces", "--parameters", examplePath, "--region", "eu-west-3", "--yes"],
      fake,
    );
    assert.equal(status, 0, stdout + stderr);
    const deletes = fake.calls
      .filter((c) => c.action === "DeleteStack")
      .map((c) => c.params.StackName);
    assert.equal(deletes.length, 5);
    // DeleteStack names the stack by id: compare the names inside the ARNs.
    assert.deepEqual(
      deletes.map((id) => id?.split("/")[1]),
      ["delivery", "fleet", "cache", "data", "network"].map(stackOf),
    );
    assert.match(stdout, /turning off deletion protection of .*fleetl-LoadB-9/);
    assert.equal((stdout.match(/: DELETE_COMPLETE\n/g) ?? []).length, 5);
  });
});
