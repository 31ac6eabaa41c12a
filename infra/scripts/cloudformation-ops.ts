/**
 * The AWS side of `npm run deploy` / `npm run destroy`: change set, confirmation, event stream,
 * outputs; delete with the list of what stays, after lifting the load balancers' deletion
 * protection. Waiting is the SDK's waiters'; this file decides what their outcome means and says
 * it. Exit codes: 0 done (or nothing to change), 1 anything AWS refused or that did not end as
 * asked. Tests drive it against a local server speaking the AWS wire protocols
 * (test/support/fake-aws.ts).
 */

import { setTimeout as sleep } from "node:timers/promises";
import {
  type Change,
  type CloudFormationClient,
  CreateChangeSetCommand,
  DeleteChangeSetCommand,
  DeleteStackCommand,
  type DescribeChangeSetCommandOutput,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  ExecuteChangeSetCommand,
  paginateDescribeChangeSet,
  paginateDescribeStackEvents,
  paginateListExports,
  paginateListImports,
  paginateListStackResources,
  type Stack,
  type StackEvent,
  waitUntilChangeSetCreateComplete,
  waitUntilStackCreateComplete,
  waitUntilStackDeleteComplete,
  waitUntilStackUpdateComplete,
} from "@aws-sdk/client-cloudformation";
import {
  type ElasticLoadBalancingV2Client,
  ModifyLoadBalancerAttributesCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import {
  CreateBucketCommand,
  type CreateBucketCommandInput,
  HeadBucketCommand,
  PutObjectCommand,
  PutPublicAccessBlockCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { GetCallerIdentityCommand, type STSClient } from "@aws-sdk/client-sts";
import type { Plan } from "./plan.js";

export interface AwsClients {
  readonly cloudformation: CloudFormationClient;
  readonly s3: S3Client;
  readonly sts: STSClient;
  readonly elbv2: ElasticLoadBalancingV2Client;
  /** The region the clients resolved (from --region, AWS_REGION or the profile). */
  readonly region: () => Promise<string>;
}

export interface Terminal {
  out(text: string): void;
  /** Asks a question and resolves with the answer; rejects when there is no terminal. */
  ask(question: string): Promise<string>;
}

/** Polling of one waiter, in seconds, as the SDK's waiters take it. */
export interface WaitOptions {
  readonly minDelay: number;
  readonly maxDelay: number;
  readonly maxWaitTime: number;
}

/** A change set takes seconds to minutes to compute. */
export const CHANGE_SET_WAIT: WaitOptions = { minDelay: 2, maxDelay: 10, maxWaitTime: 600 };
/** Creation takes 15–20 minutes; a failed one can take as long again to roll back. The SDK's
 * own default (30–120 s between polls) would leave events unprinted for minutes. */
export const STACK_WAIT: WaitOptions = { minDelay: 5, maxDelay: 15, maxWaitTime: 7200 };

export interface OperationOptions {
  readonly yes: boolean;
  /** @default CHANGE_SET_WAIT */
  readonly changeSetWait?: WaitOptions;
  /** Also the pause between reads of new stack events. @default STACK_WAIT */
  readonly stackWait?: WaitOptions;
}

const NO_CHANGES = /didn't contain changes|No updates are to be performed/;
/** The stack's own event that starts an operation; its rollback belongs to the same operation. */
const OPERATION_START = /^(CREATE|UPDATE|DELETE|IMPORT)_IN_PROGRESS$/;
/** How far back to look for the failed operation's events (100 events a page). */
const HISTORY_PAGES = 10;
const LOAD_BALANCER = "AWS::ElasticLoadBalancingV2::LoadBalancer";

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : "";
}

async function describeStack(clients: AwsClients, stackName: string): Promise<Stack | undefined> {
  try {
    const out = await clients.cloudformation.send(
      new DescribeStacksCommand({ StackName: stackName }),
    );
    return out.Stacks?.[0];
  } catch (error) {
    if (error instanceof Error && /does not exist/.test(error.message)) return undefined;
    throw error;
  }
}

/** Why an existing stack cannot take a change set now, or undefined when it can. */
function refusal(stackName: string, status: string): string | undefined {
  if (status === "REVIEW_IN_PROGRESS") return undefined; // a change set never executed
  if (status.endsWith("_IN_PROGRESS")) {
    return `stack ${stackName} is busy (${status}): another operation is running on it. Nothing was changed; wait until it settles (the console's Events tab shows progress), then deploy again`;
  }
  if (status === "ROLLBACK_COMPLETE") {
    return `stack ${stackName} failed its creation (ROLLBACK_COMPLETE) and cannot be updated: run npm run destroy first, then deploy again`;
  }
  if (status === "ROLLBACK_FAILED" || status === "DELETE_FAILED") {
    // The usual cause: the load balancer's deletion protection, which npm run destroy lifts.
    return `stack ${stackName} is ${status} and cannot be updated: run npm run destroy, which turns off the load balancer's deletion protection (what usually blocks the deletion) and deletes the stack, then deploy again`;
  }
  if (status === "UPDATE_ROLLBACK_FAILED") {
    return `stack ${stackName} is UPDATE_ROLLBACK_FAILED and cannot be updated: fix the cause below, run aws cloudformation continue-update-rollback --stack-name ${stackName}, then deploy again`;
  }
  if (status.endsWith("_FAILED")) {
    return `stack ${stackName} is ${status}: resolve it in the CloudFormation console, then deploy again`;
  }
  return undefined;
}

/** Uploads the template (CloudFormation only reads bodies over 51,200 bytes from S3). */
async function uploadTemplate(clients: AwsClients, plan: Plan, term: Terminal): Promise<string> {
  const region = await clients.region();
  const identity = await clients.sts.send(new GetCallerIdentityCommand({}));
  const bucket = plan.templateBucket ?? `fleetline-templates-${identity.Account}-${region}`;
  try {
    await clients.s3.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch (error) {
    if (errorName(error) !== "NotFound") {
      // A HEAD answer has no body: the SDK can only name a 403 "Unknown", so say what it means.
      const http = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      const why =
        http === 403
          ? "access denied (HTTP 403): it belongs to another account, or these credentials may not use it"
          : `${errorName(error) || String(error)}${http ? `, HTTP ${http}` : ""}`;
      throw new Error(
        `template bucket ${bucket} is not usable: ${why}; pass --template-bucket <a bucket you own>`,
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

/** Prints the failed events among `events` (oldest first), the cause of a rollback. */
function printFailures(events: readonly StackEvent[], stack: Stack | undefined, term: Terminal) {
  const failed = events.filter((e) => String(e.ResourceStatus).endsWith("_FAILED"));
  if (stack?.StackStatusReason) term.out(`reason: ${stack.StackStatusReason}\n`);
  if (failed.length === 0) {
    term.out("no FAILED event found; see the stack's Events tab in the CloudFormation console\n");
    return;
  }
  term.out(
    "failed events (oldest first; the first one is the cause, later ones follow from it):\n",
  );
  for (const e of failed) term.out(`  ${formatEvent(e)}`);
  term.out("the README's troubleshooting section (infra/README.md) lists where to look next\n");
}

/** The events of the stack's last operation, oldest first: back to the event that started it. */
async function lastOperationEvents(clients: AwsClients, stack: Stack): Promise<StackEvent[]> {
  const events: StackEvent[] = [];
  let pages = 0;
  for await (const page of paginateDescribeStackEvents(
    { client: clients.cloudformation },
    { StackName: stack.StackId ?? stack.StackName },
  )) {
    for (const e of page.StackEvents ?? []) {
      events.push(e);
      const own =
        e.ResourceType === "AWS::CloudFormation::Stack" && e.PhysicalResourceId === stack.StackId;
      if (own && OPERATION_START.test(String(e.ResourceStatus))) return events.reverse();
    }
    if (++pages >= HISTORY_PAGES) break;
  }
  return events.reverse();
}

/**
 * Ids of the stack's most recent events, taken before acting, so the stream shows only what the
 * action caused. Ids rather than timestamps: a skewed local clock must not hide the final event.
 */
async function recentEventIds(clients: AwsClients, stackId: string): Promise<Set<string>> {
  const page = await clients.cloudformation.send(
    new DescribeStackEventsCommand({ StackName: stackId }),
  );
  return new Set((page.StackEvents ?? []).flatMap((e) => (e.EventId ? [e.EventId] : [])));
}

/** Prints the stack's events not seen yet, oldest first, and returns them. */
async function printNewEvents(
  clients: AwsClients,
  stackId: string,
  seen: Set<string>,
  term: Terminal,
): Promise<StackEvent[]> {
  const fresh: StackEvent[] = [];
  // Newest first: read until an event already shown (or known before the action).
  pages: for await (const page of paginateDescribeStackEvents(
    { client: clients.cloudformation },
    { StackName: stackId },
  )) {
    for (const e of page.StackEvents ?? []) {
      if (!e.EventId || seen.has(e.EventId)) break pages;
      fresh.push(e);
    }
  }
  fresh.reverse();
  for (const e of fresh) {
    seen.add(e.EventId!);
    term.out(formatEvent(e));
  }
  return fresh;
}

type StackWaiter = typeof waitUntilStackCreateComplete;

/**
 * Runs the SDK's waiter on the stack while printing its new events. Resolves with the events
 * printed and whether the waiter gave up; what the final status means is the caller's call.
 */
async function follow(
  clients: AwsClients,
  stackId: string,
  seen: Set<string>,
  term: Terminal,
  waiter: StackWaiter,
  wait: WaitOptions,
): Promise<{ events: StackEvent[]; timedOut: boolean }> {
  const events: StackEvent[] = [];
  const stop = new AbortController();
  let streamError: unknown;
  const stream = (async () => {
    while (!stop.signal.aborted) {
      events.push(...(await printNewEvents(clients, stackId, seen, term)));
      await sleep(wait.minDelay * 1000, undefined, { signal: stop.signal }).catch(() => {});
    }
  })().catch((error: unknown) => {
    streamError = error;
    // Events and status come from the same endpoint: when one read fails for good (a silent
    // endpoint, after the client's retries), stop the waiter too instead of polling on for hours.
    stop.abort();
  });
  let timedOut = false;
  try {
    await waiter(
      { client: clients.cloudformation, ...wait, abortSignal: stop.signal },
      { StackName: stackId },
    );
  } catch (error) {
    if (streamError) throw streamError;
    // The waiter throws on its FAILURE state too (a JSON dump of the last answer): that is an
    // outcome, read from the stack below. Only its own misconfiguration is a real error.
    if (errorName(error) === "TimeoutError") timedOut = true;
    else if (!isWaiterFailure(error)) throw error;
  } finally {
    stop.abort();
    await stream;
  }
  if (streamError) throw streamError;
  events.push(...(await printNewEvents(clients, stackId, seen, term)));
  return { events, timedOut };
}

function isWaiterFailure(error: unknown): boolean {
  try {
    return (JSON.parse((error as Error).message) as { state?: string }).state === "FAILURE";
  } catch {
    return false;
  }
}

/** Waits for the change set and returns it whole (every page of changes). */
async function settledChangeSet(
  clients: AwsClients,
  stackName: string,
  changeSetId: string,
  wait: WaitOptions,
): Promise<{ described?: DescribeChangeSetCommandOutput; changes: Change[]; timedOut: boolean }> {
  const input = { ChangeSetName: changeSetId, StackName: stackName };
  try {
    await waitUntilChangeSetCreateComplete({ client: clients.cloudformation, ...wait }, input);
  } catch (error) {
    if (errorName(error) === "TimeoutError") return { changes: [], timedOut: true };
    if (!isWaiterFailure(error)) throw error;
  }
  let described: DescribeChangeSetCommandOutput | undefined;
  const changes: Change[] = [];
  for await (const page of paginateDescribeChangeSet({ client: clients.cloudformation }, input)) {
    described ??= page;
    changes.push(...(page.Changes ?? []));
  }
  return { described, changes, timedOut: false };
}

function formatChange(c: Change): string {
  const r = c.ResourceChange;
  if (!r) return `  ${c.Type}\n`;
  const replacement =
    r.Replacement === "True"
      ? "  REPLACEMENT"
      : r.Replacement === "Conditional"
        ? "  (may replace)"
        : "";
  return `  ${String(r.Action).padEnd(7)} ${String(r.ResourceType).padEnd(42)} ${r.LogicalResourceId}${replacement}\n`;
}

/** Creates a change set, shows it, asks, executes it and follows it. Returns the exit code. */
export async function deployStack(
  clients: AwsClients,
  plan: Plan,
  term: Terminal,
  options: OperationOptions,
): Promise<number> {
  const existing = await describeStack(clients, plan.stackName);
  const refused = existing?.StackStatus && refusal(plan.stackName, existing.StackStatus);
  if (existing && refused) {
    term.out(`${refused}\n`);
    // A stack that is busy has not failed (yet); any other refusal is the end of a failure.
    if (!String(existing.StackStatus).endsWith("_IN_PROGRESS")) {
      printFailures(await lastOperationEvents(clients, existing), existing, term);
    }
    return 1;
  }
  const changeSetType =
    existing === undefined || existing.StackStatus === "REVIEW_IN_PROGRESS" ? "CREATE" : "UPDATE";

  // A piece deployed before the ones it imports from: CloudFormation would refuse the change set
  // with one missing name; say which pieces are missing, before uploading anything.
  if (plan.imports.length > 0) {
    const exported = new Set<string>();
    for await (const page of paginateListExports({ client: clients.cloudformation }, {})) {
      for (const e of page.Exports ?? []) if (e.Name) exported.add(e.Name);
    }
    const missing = plan.imports.filter((name) => !exported.has(name));
    if (missing.length > 0) {
      term.out(
        `stack ${plan.stackName} imports what no stack in ${await clients.region()} exports yet:\n`,
      );
      for (const name of missing) term.out(`  ${name}\n`);
      term.out(
        "deploy the pieces before it first (npm run deploy -- --pieces runs them in order); nothing was sent\n",
      );
      return 1;
    }
  }

  const template = plan.uploadToS3
    ? { TemplateURL: await uploadTemplate(clients, plan, term) }
    : { TemplateBody: plan.templateBody };
  const changeSetName = `fleetline-${Date.now()}`;
  let changeSetId: string;
  try {
    const created = await clients.cloudformation.send(
      new CreateChangeSetCommand({
        StackName: plan.stackName,
        ChangeSetName: changeSetName,
        ChangeSetType: changeSetType,
        ...template,
        Parameters: plan.parameters.map((p) => ({ ParameterKey: p.key, ParameterValue: p.value })),
        Capabilities: ["CAPABILITY_IAM"],
        Description: "npm run deploy",
      }),
    );
    changeSetId = created.Id ?? changeSetName;
  } catch (error) {
    // A service answer (bad template, missing capability, name clash): say it plainly.
    if (!(error instanceof Error) || !("$metadata" in error)) throw error;
    term.out(`change set could not be created: ${error.name}: ${error.message}\n`);
    return 1;
  }
  term.out(`change set ${changeSetName} (${changeSetType}) being computed…\n`);

  const wait = options.changeSetWait ?? CHANGE_SET_WAIT;
  const { described, changes, timedOut } = await settledChangeSet(
    clients,
    plan.stackName,
    changeSetId,
    wait,
  );
  if (timedOut || !described) {
    term.out(
      `change set ${changeSetName} was still being computed after ${wait.maxWaitTime} s; look at it in the console, nothing was executed\n`,
    );
    return 1;
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
    term.out(`change set failed: ${reason}\nnothing was executed\n`);
    return 1;
  }
  if (described.ExecutionStatus !== "AVAILABLE") {
    term.out(
      `change set ${changeSetName} cannot be executed (execution status ${described.ExecutionStatus}${described.StatusReason ? `: ${described.StatusReason}` : ""})\n`,
    );
    return 1;
  }

  term.out(`${changes.length} change(s):\n`);
  for (const c of changes) term.out(formatChange(c));

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
  // The create waiter also stops, as a success, on UPDATE_ROLLBACK_COMPLETE and others: its
  // "success" means "settled", so the exit code comes from the status reached, never from it.
  const expected = changeSetType === "CREATE" ? "CREATE_COMPLETE" : "UPDATE_COMPLETE";
  const waiter =
    changeSetType === "CREATE" ? waitUntilStackCreateComplete : waitUntilStackUpdateComplete;
  const stackWait = options.stackWait ?? STACK_WAIT;
  const outcome = await follow(clients, stackId, seen, term, waiter, stackWait);
  const stack = await describeStack(clients, stackId);
  const finalStatus = stack?.StackStatus ?? "gone";
  term.out(`stack ${plan.stackName}: ${finalStatus}\n`);
  if (outcome.timedOut) {
    term.out(
      `still not settled after ${stackWait.maxWaitTime} s; CloudFormation carries on: follow it in the console\n`,
    );
    return 1;
  }
  if (finalStatus !== expected) {
    printFailures(outcome.events, stack, term);
    return 1;
  }
  for (const o of stack?.Outputs ?? []) {
    term.out(`  ${String(o.OutputKey).padEnd(26)} ${o.OutputValue}\n`);
  }
  const signIn = stack?.Outputs?.find((o) => o.OutputKey === "SignInUrl")?.OutputValue;
  if (signIn && changeSetType === "CREATE") term.out(signInHelp(signIn, plan));
  return 0;
}

/** What the first operator does next: the stack invites them, Cognito mails the password. */
function signInHelp(url: string, plan: Plan): string {
  const email = plan.parameters.find((p) => p.key === "OperatorEmail")?.value ?? "the operator";
  return [
    "",
    "Sign in:",
    `  1. Cognito has e-mailed ${email} a temporary password (subject "Your fleetline operator account").`,
    `  2. Open ${url} and sign in with that address and password.`,
    "  3. Choose a new password, then scan the QR code with an authenticator app (TOTP is required).",
    "  More operators: Cognito console > user pool (OperatorsUserPoolId above) > Users > Create user.",
    "  The site shows its users pages only once the pipeline has deployed the app (PipelineName above).",
    "",
  ].join("\n");
}

/** The stack's exports that other stacks import, with those stacks' names (ListImports). */
async function importersOf(
  clients: AwsClients,
  stack: Stack,
): Promise<Array<{ exportName: string; stacks: string[] }>> {
  const out: Array<{ exportName: string; stacks: string[] }> = [];
  for (const output of stack.Outputs ?? []) {
    if (!output.ExportName) continue;
    const stacks: string[] = [];
    try {
      for await (const page of paginateListImports(
        { client: clients.cloudformation },
        { ExportName: output.ExportName },
      )) {
        stacks.push(...(page.Imports ?? []));
      }
    } catch (error) {
      // CloudFormation's answer for an export nobody imports is an error, not an empty list.
      if (!(error instanceof Error && /is not imported by any stack/.test(error.message))) {
        throw error;
      }
    }
    if (stacks.length > 0) out.push({ exportName: output.ExportName, stacks });
  }
  return out;
}

/** Deletes the stack after saying what stays; returns the exit code. */
export async function destroyStack(
  clients: AwsClients,
  plan: Plan,
  term: Terminal,
  options: OperationOptions,
): Promise<number> {
  const stack = await describeStack(clients, plan.stackName);
  if (!stack?.StackId) {
    term.out(
      `stack ${plan.stackName} does not exist in ${await clients.region()}; nothing to delete\n`,
    );
    return 0;
  }
  const status = String(stack.StackStatus);
  if (status.endsWith("_IN_PROGRESS") && status !== "REVIEW_IN_PROGRESS") {
    term.out(
      `stack ${plan.stackName} is busy (${status}): nothing was deleted; wait until it settles, then destroy again\n`,
    );
    return 1;
  }
  // CloudFormation refuses to delete a stack whose export another stack imports, but only
  // after DELETE_IN_PROGRESS (the stack ends DELETE_FAILED): ask first, and say who imports.
  const importers = await importersOf(clients, stack);
  if (importers.length > 0) {
    term.out(`stack ${plan.stackName} cannot be deleted: other stacks still import its exports\n`);
    for (const { exportName, stacks } of importers) {
      term.out(`  ${exportName} is imported by ${stacks.join(", ")}\n`);
    }
    const names = [...new Set(importers.flatMap((i) => i.stacks))];
    term.out(
      `destroy ${names.join(", ")} first (npm run destroy -- --pieces removes every piece, later ones first); nothing was deleted\n`,
    );
    return 1;
  }
  const physical = new Map<string, string>();
  const loadBalancers: string[] = [];
  for await (const page of paginateListStackResources(
    { client: clients.cloudformation },
    { StackName: stack.StackId },
  )) {
    for (const r of page.StackResourceSummaries ?? []) {
      if (r.LogicalResourceId && r.PhysicalResourceId) {
        physical.set(r.LogicalResourceId, r.PhysicalResourceId);
        // One a rollback already removed has nothing left to unprotect.
        if (r.ResourceType === LOAD_BALANCER && r.ResourceStatus !== "DELETE_COMPLETE") {
          loadBalancers.push(r.PhysicalResourceId);
        }
      }
    }
  }
  const retained = plan.retained
    .filter((r) => physical.has(r.logicalId))
    .map((r) => ({ ...r, physicalId: physical.get(r.logicalId)! }));

  term.out(`deleting stack ${plan.stackName} (${status}) in ${await clients.region()}\n`);
  term.out("these stay after deletion (data is never lost by a teardown):\n");
  for (const r of retained) term.out(`  ${r.type.padEnd(24)} ${r.physicalId}\n`);
  if (loadBalancers.length > 0) {
    term.out("deletion protection is turned off, once you confirm, on:\n");
    for (const arn of loadBalancers) term.out(`  ${LOAD_BALANCER.padEnd(24)} ${arn}\n`);
  }
  if (!options.yes) {
    const answer = await term.ask(`Type the stack name (${plan.stackName}) to delete it: `);
    if (answer.trim() !== plan.stackName) {
      term.out("not deleted\n");
      return 1;
    }
  }
  // The template protects the load balancer so that no slip loses the site's address; the
  // operator has just confirmed this deletion, so the protection is lifted rather than letting
  // DeleteStack fail on it (and leave DELETE_FAILED).
  const unprotected: string[] = [];
  for (const arn of loadBalancers) {
    term.out(`turning off deletion protection of ${arn}\n`);
    try {
      await clients.elbv2.send(
        new ModifyLoadBalancerAttributesCommand({
          LoadBalancerArn: arn,
          Attributes: [{ Key: "deletion_protection.enabled", Value: "false" }],
        }),
      );
      unprotected.push(arn);
    } catch (error) {
      if (errorName(error) === "LoadBalancerNotFoundException") {
        term.out("  already gone\n");
        continue;
      }
      // Not a service answer (no network, timeout): the entry point reports it.
      if (!(error instanceof Error) || !("$metadata" in error) || error.name === "TimeoutError") {
        throw error;
      }
      const already =
        unprotected.length > 0 ? ` (protection is already off on ${unprotected.join(", ")})` : "";
      const next = /AccessDenied/.test(error.name)
        ? "these credentials need elasticloadbalancing:ModifyLoadBalancerAttributes on it"
        : "fix that";
      term.out(
        `could not turn off deletion protection of ${arn}: ${error.name}: ${error.message}\n` +
          `the stack was not deleted${already}; ${next}, then destroy again\n`,
      );
      return 1;
    }
  }
  const seen = await recentEventIds(clients, stack.StackId);
  await clients.cloudformation.send(new DeleteStackCommand({ StackName: stack.StackId }));
  const stackWait = options.stackWait ?? STACK_WAIT;
  const outcome = await follow(
    clients,
    stack.StackId,
    seen,
    term,
    waitUntilStackDeleteComplete,
    stackWait,
  );
  const after = await describeStack(clients, stack.StackId);
  const finalStatus = after?.StackStatus ?? "DELETE_COMPLETE";
  term.out(`stack ${plan.stackName}: ${finalStatus}\n`);
  if (outcome.timedOut) {
    term.out(`still not deleted after ${stackWait.maxWaitTime} s; follow it in the console\n`);
    return 1;
  }
  if (finalStatus !== "DELETE_COMPLETE") {
    printFailures(outcome.events, after, term);
    return 1;
  }
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
