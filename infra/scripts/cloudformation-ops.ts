/**
 * The AWS side of `npm run deploy` / `npm run destroy`: change set, confirmation, event stream,
 * outputs; delete with the list of what stays. Clients and terminal are injected, so tests drive
 * every branch with fakes and no network.
 */
import {
  CreateChangeSetCommand,
  type CreateChangeSetCommandOutput,
  DeleteChangeSetCommand,
  DeleteStackCommand,
  DescribeChangeSetCommand,
  type DescribeChangeSetCommandOutput,
  DescribeStackEventsCommand,
  type DescribeStackEventsCommandOutput,
  DescribeStacksCommand,
  type DescribeStacksCommandOutput,
  ExecuteChangeSetCommand,
  ListStackResourcesCommand,
  type ListStackResourcesCommandOutput,
  type Stack,
  type StackEvent,
} from "@aws-sdk/client-cloudformation";
import { ModifyLoadBalancerAttributesCommand } from "@aws-sdk/client-elastic-load-balancing-v2";
import {
  CreateBucketCommand,
  type CreateBucketCommandInput,
  HeadBucketCommand,
  PutObjectCommand,
  PutPublicAccessBlockCommand,
} from "@aws-sdk/client-s3";
import { GetCallerIdentityCommand, type GetCallerIdentityCommandOutput } from "@aws-sdk/client-sts";
import type { Plan } from "./plan.js";

/** What the operations need from an SDK client (CloudFormationClient, S3Client, STSClient fit). */
export interface Sender {
  send(command: object): Promise<unknown>;
}

export interface AwsClients {
  readonly cloudformation: Sender;
  readonly s3: Sender;
  readonly sts: Sender;
  readonly elbv2: Sender;
  /** The region the clients resolved (from --region, AWS_REGION or the profile). */
  readonly region: () => Promise<string>;
}

export interface Terminal {
  out(text: string): void;
  /** Asks a question and resolves with the answer; rejects when there is no terminal. */
  ask(question: string): Promise<string>;
  sleep(ms: number): Promise<void>;
}

export interface OperationOptions {
  readonly yes: boolean;
  /** Pause between polls of change sets and events. @default 5000 */
  readonly pollMs?: number;
}

const TERMINAL_OK = new Set([
  "CREATE_COMPLETE",
  "UPDATE_COMPLETE",
  "DELETE_COMPLETE",
  "IMPORT_COMPLETE",
]);
const TERMINAL = /(_COMPLETE|_FAILED)$/;
const NO_CHANGES = /didn't contain changes|No updates are to be performed/;

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : "";
}

async function describeStack(clients: AwsClients, stackName: string): Promise<Stack | undefined> {
  try {
    const out = (await clients.cloudformation.send(
      new DescribeStacksCommand({ StackName: stackName }),
    )) as DescribeStacksCommandOutput;
    return out.Stacks?.[0];
  } catch (error) {
    if (error instanceof Error && /does not exist/.test(error.message)) return undefined;
    throw error;
  }
}

/** Uploads the template (CloudFormation only reads bodies over 51,200 bytes from S3). */
async function uploadTemplate(clients: AwsClients, plan: Plan, term: Terminal): Promise<string> {
  const region = await clients.region();
  const identity = (await clients.sts.send(
    new GetCallerIdentityCommand({}),
  )) as GetCallerIdentityCommandOutput;
  const bucket = plan.templateBucket ?? `fleetline-templates-${identity.Account}-${region}`;
  try {
    await clients.s3.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch (error) {
    if (errorName(error) !== "NotFound") {
      throw new Error(
        `template bucket ${bucket} exists but is not usable (${errorName(error) || String(error)}); pass --template-bucket <a bucket you own>`,
      );
    }
    term.out(`creating template bucket ${bucket}\n`);
    const input: CreateBucketCommandInput =
      region === "us-east-1"
        ? { Bucket: bucket }
        : { Bucket: bucket, CreateBucketConfiguration: { LocationConstraint: region as never } };
    await clients.s3.send(new CreateBucketCommand(input));
    await clients.s3.send(
      new PutPublicAccessBlockCommand({
        Bucket: bucket,
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
      }),
    );
  }
  const key = `${plan.stackName}/${plan.templateHash}.json`;
  await clients.s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: plan.templateBody,
      ContentType: "application/json",
    }),
  );
  term.out(`uploaded template to s3://${bucket}/${key}\n`);
  return `https://${bucket}.s3.${region}.amazonaws.com/${key}`;
}

function formatEvent(e: StackEvent): string {
  const time = e.Timestamp ? e.Timestamp.toISOString().slice(11, 19) : "--:--:--";
  const reason = e.ResourceStatusReason ? `  ${e.ResourceStatusReason}` : "";
  return `${time}  ${String(e.ResourceStatus).padEnd(28)} ${String(e.ResourceType).padEnd(42)} ${e.LogicalResourceId}${reason}\n`;
}

/**
 * Ids of the stack's most recent events, taken before acting, so the stream shows only what the
 * action caused. Ids rather than timestamps: a skewed local clock must not hide the final event.
 */
async function recentEventIds(clients: AwsClients, stackId: string): Promise<Set<string>> {
  const page = (await clients.cloudformation.send(
    new DescribeStackEventsCommand({ StackName: stackId }),
  )) as DescribeStackEventsCommandOutput;
  return new Set((page.StackEvents ?? []).flatMap((e) => (e.EventId ? [e.EventId] : [])));
}

/** Prints the stack's new events (oldest first) until the stack reaches a terminal status. */
async function streamEvents(
  clients: AwsClients,
  stackId: string,
  seen: Set<string>,
  term: Terminal,
  pollMs: number,
): Promise<string> {
  for (;;) {
    const fresh: StackEvent[] = [];
    let token: string | undefined;
    let caughtUp = false;
    do {
      // Newest first: read until an event already shown (or known before the action).
      const page = (await clients.cloudformation.send(
        new DescribeStackEventsCommand({ StackName: stackId, NextToken: token }),
      )) as DescribeStackEventsCommandOutput;
      for (const e of page.StackEvents ?? []) {
        if (!e.EventId || seen.has(e.EventId)) {
          caughtUp = true;
          break;
        }
        fresh.push(e);
      }
      token = caughtUp ? undefined : page.NextToken;
    } while (token);
    let final: string | undefined;
    for (const e of fresh.reverse()) {
      seen.add(e.EventId!);
      term.out(formatEvent(e));
      if (
        e.ResourceType === "AWS::CloudFormation::Stack" &&
        e.PhysicalResourceId === stackId &&
        TERMINAL.test(String(e.ResourceStatus))
      ) {
        final = String(e.ResourceStatus);
      }
    }
    if (final) return final;
    await term.sleep(pollMs);
  }
}

/** Creates a change set, shows it, asks, executes it and follows it. Returns the exit code. */
export async function deployStack(
  clients: AwsClients,
  plan: Plan,
  term: Terminal,
  options: OperationOptions,
): Promise<number> {
  const pollMs = options.pollMs ?? 5000;
  const existing = await describeStack(clients, plan.stackName);
  if (existing?.StackStatus === "ROLLBACK_COMPLETE") {
    term.out(
      `stack ${plan.stackName} failed its creation (ROLLBACK_COMPLETE) and cannot be updated: run npm run destroy first, then deploy again\n`,
    );
    return 1;
  }
  if (
    existing?.StackStatus &&
    /_IN_PROGRESS$/.test(existing.StackStatus) &&
    existing.StackStatus !== "REVIEW_IN_PROGRESS"
  ) {
    term.out(
      `stack ${plan.stackName} is busy (${existing.StackStatus}); try again when it settles\n`,
    );
    return 1;
  }
  const changeSetType =
    existing === undefined || existing.StackStatus === "REVIEW_IN_PROGRESS" ? "CREATE" : "UPDATE";

  const template = plan.uploadToS3
    ? { TemplateURL: await uploadTemplate(clients, plan, term) }
    : { TemplateBody: plan.templateBody };
  const changeSetName = `fleetline-${Date.now()}`;
  const created = (await clients.cloudformation.send(
    new CreateChangeSetCommand({
      StackName: plan.stackName,
      ChangeSetName: changeSetName,
      ChangeSetType: changeSetType,
      ...template,
      Parameters: plan.parameters.map((p) => ({ ParameterKey: p.key, ParameterValue: p.value })),
      Capabilities: ["CAPABILITY_IAM"],
      Description: "npm run deploy",
    }),
  )) as CreateChangeSetCommandOutput;
  const changeSetId = created.Id ?? changeSetName;
  term.out(`change set ${changeSetName} (${changeSetType}) being computed…\n`);

  let described: DescribeChangeSetCommandOutput;
  for (;;) {
    described = (await clients.cloudformation.send(
      new DescribeChangeSetCommand({ ChangeSetName: changeSetId, StackName: plan.stackName }),
    )) as DescribeChangeSetCommandOutput;
    if (described.Status === "CREATE_COMPLETE" || described.Status === "FAILED") break;
    await term.sleep(pollMs);
  }
  if (described.Status === "FAILED") {
    const reason = described.StatusReason ?? "no reason given";
    if (NO_CHANGES.test(reason)) {
      term.out(`no changes: stack ${plan.stackName} already matches the template and parameters\n`);
      await clients.cloudformation.send(
        new DeleteChangeSetCommand({ ChangeSetName: changeSetId, StackName: plan.stackName }),
      );
      return 0;
    }
    term.out(`change set failed: ${reason}\n`);
    return 1;
  }

  const changes = [...(described.Changes ?? [])];
  let token = described.NextToken;
  while (token) {
    const page = (await clients.cloudformation.send(
      new DescribeChangeSetCommand({
        ChangeSetName: changeSetId,
        StackName: plan.stackName,
        NextToken: token,
      }),
    )) as DescribeChangeSetCommandOutput;
    changes.push(...(page.Changes ?? []));
    token = page.NextToken;
  }
  term.out(`${changes.length} change(s):\n`);
  for (const c of changes) {
    const r = c.ResourceChange;
    if (!r) continue;
    const replacement =
      r.Replacement === "True"
        ? "  REPLACEMENT"
        : r.Replacement === "Conditional"
          ? "  (may replace)"
          : "";
    term.out(
      `  ${String(r.Action).padEnd(7)} ${String(r.ResourceType).padEnd(42)} ${r.LogicalResourceId}${replacement}\n`,
    );
  }

  if (!options.yes) {
    const answer = await term.ask(`Execute this change set on ${plan.stackName}? [y/N] `);
    if (!/^y(es)?$/i.test(answer.trim())) {
      term.out("not executed; the change set stays in the console for review\n");
      return 1;
    }
  }

  const stackId = described.StackId ?? plan.stackName;
  const seen = await recentEventIds(clients, stackId);
  await clients.cloudformation.send(
    new ExecuteChangeSetCommand({ ChangeSetName: changeSetId, StackName: plan.stackName }),
  );
  const status = await streamEvents(clients, stackId, seen, term, pollMs);
  const stack = await describeStack(clients, stackId);
  const finalStatus = stack?.StackStatus ?? status;
  term.out(`stack ${plan.stackName}: ${finalStatus}\n`);
  if (!TERMINAL_OK.has(finalStatus)) {
    term.out(
      "see the first FAILED event above; the README's troubleshooting section lists where to look next\n",
    );
    return 1;
  }
  for (const o of stack?.Outputs ?? []) {
    term.out(`  ${String(o.OutputKey).padEnd(26)} ${o.OutputValue}\n`);
  }
  return 0;
}

/** Deletes the stack after saying what stays; returns the exit code. */
export async function destroyStack(
  clients: AwsClients,
  plan: Plan,
  term: Terminal,
  options: OperationOptions,
): Promise<number> {
  const pollMs = options.pollMs ?? 5000;
  const stack = await describeStack(clients, plan.stackName);
  if (!stack?.StackId) {
    term.out(
      `stack ${plan.stackName} does not exist in ${await clients.region()}; nothing to delete\n`,
    );
    return 0;
  }
  const physical = new Map<string, string>();
  const loadBalancerArns: string[] = [];
  let token: string | undefined;
  do {
    const page = (await clients.cloudformation.send(
      new ListStackResourcesCommand({ StackName: stack.StackId, NextToken: token }),
    )) as ListStackResourcesCommandOutput;
    for (const r of page.StackResourceSummaries ?? []) {
      if (r.LogicalResourceId && r.PhysicalResourceId) {
        physical.set(r.LogicalResourceId, r.PhysicalResourceId);
        if (r.ResourceType === "AWS::ElasticLoadBalancingV2::LoadBalancer") {
          loadBalancerArns.push(r.PhysicalResourceId);
        }
      }
    }
    token = page.NextToken;
  } while (token);
  const retained = plan.retained
    .filter((r) => physical.has(r.logicalId))
    .map((r) => ({ ...r, physicalId: physical.get(r.logicalId)! }));

  term.out(
    `deleting stack ${plan.stackName} (${stack.StackStatus}) in ${await clients.region()}\n`,
  );
  term.out("these stay after deletion (data is never lost by a teardown):\n");
  for (const r of retained) term.out(`  ${r.type.padEnd(24)} ${r.physicalId}\n`);
  if (!options.yes) {
    const answer = await term.ask(`Type the stack name (${plan.stackName}) to delete it: `);
    if (answer.trim() !== plan.stackName) {
      term.out("not deleted\n");
      return 1;
    }
  }
  // The template turns deletion protection on (the site's address would be lost by a slip); the
  // operator has just confirmed this deletion, so it is lifted here rather than failing the delete.
  for (const arn of loadBalancerArns) {
    term.out(`turning off deletion protection of ${arn}\n`);
    await clients.elbv2.send(
      new ModifyLoadBalancerAttributesCommand({
        LoadBalancerArn: arn,
        Attributes: [{ Key: "deletion_protection.enabled", Value: "false" }],
      }),
    );
  }
  const seen = await recentEventIds(clients, stack.StackId);
  await clients.cloudformation.send(new DeleteStackCommand({ StackName: stack.StackId }));
  const status = await streamEvents(clients, stack.StackId, seen, term, pollMs);
  term.out(`stack ${plan.stackName}: ${status}\n`);
  if (status !== "DELETE_COMPLETE") return 1;
  if (retained.length > 0) {
    term.out("to remove what was retained as well:\n");
    for (const r of retained) {
      if (r.type === "AWS::DynamoDB::Table") {
        term.out(
          `  aws dynamodb update-table --table-name ${r.physicalId} --no-deletion-protection-enabled && aws dynamodb delete-table --table-name ${r.physicalId}\n`,
        );
      } else if (r.type === "AWS::S3::Bucket") {
        term.out(`  aws s3 rb s3://${r.physicalId} --force\n`);
      }
    }
  }
  return 0;
}
