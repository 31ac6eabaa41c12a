/**
 * Resolves a CloudFormation template the way CloudFormation does for one concrete stack: parameter
 * values (given, or defaults) checked against their definitions, SSM-typed parameters looked up,
 * pseudo parameters, Rules (a failing assertion refuses the stack, as CloudFormation does before
 * creating anything), Conditions, resources dropped when their condition is false, and every
 * intrinsic function replaced by its value: Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::If, Fn::Select,
 * Fn::Split, Fn::FindInMap, Fn::GetAZs, Fn::ImportValue, Fn::Base64 and AWS::NoValue.
 *
 * Written here rather than taken from cfn-resolver-lib (the library the issue suggests) because
 * that library fails open: an unknown Ref resolves to the logical id, an unresolvable Fn::GetAtt is
 * left in place with a console warning, resources whose Condition is false are kept, Fn::Sub only
 * substitutes a caller-supplied map and Fn::Base64 and Rules are not evaluated. A test that must
 * catch a value CloudFormation would not produce needs the opposite: anything it cannot resolve
 * exactly is an error, with the path where it stands.
 *
 * Physical ids follow CloudFormation's conventions: a resource without an explicit name gets
 * `<stack>-<logicalId>-<suffix>` (lower case where the service demands it), ARNs are built from the
 * stack's partition, region and account, and every value is derived from a hash of the stack and
 * logical id so two resolutions of the same stack are identical.
 */
import { createHash } from "node:crypto";
import type { TemplateParameter } from "../../scripts/parameter-file.js";

export interface StackContext {
  readonly stackName: string;
  readonly region: string;
  readonly accountId: string;
  /** @default "aws" (or "aws-cn" / "aws-us-gov" from the region) */
  readonly partition?: string;
  /** Parameter values as the CLI or console passes them (strings); omitted ones take defaults. */
  readonly parameters?: Readonly<Record<string, string>>;
  /** Values of the SSM parameters that `AWS::SSM::Parameter::Value<…>` parameters name. */
  readonly ssmParameters?: Readonly<Record<string, string>>;
  /** Exports of other stacks, for Fn::ImportValue. */
  readonly exports?: Readonly<Record<string, string>>;
  /** @default two zones, `<region>a` and `<region>b` */
  readonly availabilityZones?: readonly string[];
}

export type { TemplateParameter };

export interface CfnTemplate {
  readonly Parameters?: Readonly<Record<string, TemplateParameter>>;
  readonly Rules?: Readonly<Record<string, unknown>>;
  readonly Mappings?: Readonly<Record<string, Record<string, Record<string, unknown>>>>;
  readonly Conditions?: Readonly<Record<string, unknown>>;
  readonly Resources: Readonly<Record<string, CfnResource>>;
  readonly Outputs?: Readonly<
    Record<string, { Value: unknown; Condition?: string; Export?: { Name: unknown } }>
  >;
}

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Condition?: string;
  readonly [key: string]: unknown;
}

export interface ResolvedResource {
  readonly type: string;
  /** Properties with every intrinsic function replaced by its value. */
  readonly properties: Record<string, unknown>;
  /** What `Ref` returns for it. */
  readonly ref: string;
}

export interface ResolvedStack {
  readonly context: Required<Omit<StackContext, "parameters" | "ssmParameters" | "exports">>;
  /** Parameter values after defaults, as Ref returns them (lists for List<…> types). */
  readonly parameters: Readonly<Record<string, string | string[]>>;
  readonly conditions: Readonly<Record<string, boolean>>;
  /** Only the resources CloudFormation would create (their Condition true, or none). */
  readonly resources: Readonly<Record<string, ResolvedResource>>;
  readonly outputs: Readonly<Record<string, unknown>>;
  /** Exported outputs by export name, as Fn::ImportValue in another stack of the region sees them. */
  readonly exports: Readonly<Record<string, string>>;
  /** Every modelled attribute of a created resource, by name (for comparing stacks). */
  attributes(logicalId: string): Record<string, unknown>;
  /** Resolves any other template fragment (for instance one resource attribute) in this stack. */
  resolve(value: unknown, path?: string): unknown;
  /** Fn::GetAtt on a created resource. */
  getAtt(logicalId: string, attribute: string): unknown;
}

/** Why CloudFormation would refuse the stack or the template: a message naming the place. */
export class ResolutionError extends Error {
  override name = "ResolutionError";
}

/** CloudFormation refused the parameters before creating anything (a Rule or a parameter check). */
export class StackRefused extends ResolutionError {
  override name = "StackRefused";
}

const NO_VALUE = Symbol("AWS::NoValue");

function partitionOf(region: string): string {
  if (region.startsWith("cn-")) return "aws-cn";
  if (region.startsWith("us-gov-")) return "aws-us-gov";
  return "aws";
}

function urlSuffixOf(partition: string): string {
  return partition === "aws-cn" ? "amazonaws.com.cn" : "amazonaws.com";
}

/** Deterministic stand-in for CloudFormation's random suffixes and the services' ids. */
function digest(...parts: string[]): string {
  return createHash("sha256").update(parts.join("\0")).digest("hex");
}
function suffix(seed: string, length: number, alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") {
  const bytes = createHash("sha256").update(seed).digest();
  let out = "";
  for (let i = 0; i < length; i++) out += alphabet[bytes[i % bytes.length]! % alphabet.length];
  return out;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function asString(value: unknown, where: string): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  throw new ResolutionError(`${where}: expected a string, got ${JSON.stringify(value)}`);
}

function asList(value: unknown, where: string): unknown[] {
  if (!Array.isArray(value)) {
    throw new ResolutionError(`${where}: expected a list, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Resolves `template` for the stack `context`; throws ResolutionError/StackRefused. */
export function resolveStack(template: CfnTemplate, context: StackContext): ResolvedStack {
  const partition = context.partition ?? partitionOf(context.region);
  const ctx = {
    stackName: context.stackName,
    region: context.region,
    accountId: context.accountId,
    partition,
    availabilityZones: context.availabilityZones ?? [`${context.region}a`, `${context.region}b`],
  };
  const stackId = `arn:${partition}:cloudformation:${ctx.region}:${ctx.accountId}:stack/${ctx.stackName}/${digest(ctx.stackName, ctx.region).slice(0, 8)}-0000-0000-0000-000000000000`;
  const pseudo: Record<string, string | string[]> = {
    "AWS::StackName": ctx.stackName,
    "AWS::StackId": stackId,
    "AWS::Region": ctx.region,
    "AWS::AccountId": ctx.accountId,
    "AWS::Partition": partition,
    "AWS::URLSuffix": urlSuffixOf(partition),
    "AWS::NotificationARNs": [],
  };

  const parameters = resolveParameters(template.Parameters ?? {}, context);
  const conditionCache = new Map<string, boolean>();
  const evaluating = new Set<string>();

  const condition = (name: string, where: string): boolean => {
    const cached = conditionCache.get(name);
    if (cached !== undefined) return cached;
    const expression = template.Conditions?.[name];
    if (expression === undefined) throw new ResolutionError(`${where}: no condition ${name}`);
    if (evaluating.has(name)) throw new ResolutionError(`${where}: condition ${name} is circular`);
    evaluating.add(name);
    const value = evaluateCondition(expression, `Conditions.${name}`);
    evaluating.delete(name);
    conditionCache.set(name, value);
    return value;
  };

  const evaluateCondition = (expression: unknown, where: string): boolean => {
    if (!isRecord(expression) || Object.keys(expression).length !== 1) {
      throw new ResolutionError(
        `${where}: not a condition function: ${JSON.stringify(expression)}`,
      );
    }
    const [fn, arg] = Object.entries(expression)[0]!;
    switch (fn) {
      case "Condition":
        return condition(asString(arg, where), where);
      case "Fn::Equals": {
        const [a, b] = asList(arg, where).map((x, i) => resolveValue(x, `${where}[${i}]`));
        return JSON.stringify(normalise(a)) === JSON.stringify(normalise(b));
      }
      case "Fn::Not":
        return !evaluateCondition(asList(arg, where)[0], `${where}.Fn::Not`);
      case "Fn::And":
        return asList(arg, where).every((c, i) => evaluateCondition(c, `${where}.Fn::And[${i}]`));
      case "Fn::Or":
        return asList(arg, where).some((c, i) => evaluateCondition(c, `${where}.Fn::Or[${i}]`));
      case "Fn::Contains": {
        const [list, value] = asList(arg, where);
        const items = asList(resolveValue(list, where), where).map((x) => asString(x, where));
        return items.includes(asString(resolveValue(value, where), where));
      }
      case "Fn::EachMemberIn": {
        const [members, allowed] = asList(arg, where).map((x) =>
          asList(resolveValue(x, where), where),
        );
        return members!.every((m) => allowed!.includes(m));
      }
      default:
        throw new ResolutionError(`${where}: ${fn} is not a condition function`);
    }
  };

  // Numbers and strings compare as CloudFormation compares them: by their string form.
  const normalise = (value: unknown): unknown =>
    Array.isArray(value) ? value.map(normalise) : typeof value === "number" ? String(value) : value;

  // Filled once every function below exists: which resources CloudFormation creates.
  let created = new Set<string>();

  const propertyCache = new Map<string, Record<string, unknown>>();
  const resolvingProperties = new Set<string>();
  const properties = (logicalId: string): Record<string, unknown> => {
    const cached = propertyCache.get(logicalId);
    if (cached) return cached;
    if (resolvingProperties.has(logicalId)) {
      throw new ResolutionError(`Resources.${logicalId}: circular reference`);
    }
    resolvingProperties.add(logicalId);
    const resolved = resolveValue(
      template.Resources[logicalId]!.Properties ?? {},
      `Resources.${logicalId}.Properties`,
    );
    resolvingProperties.delete(logicalId);
    const value = isRecord(resolved) ? resolved : {};
    propertyCache.set(logicalId, value);
    return value;
  };

  const resource = (logicalId: string, where: string): ResourceView => {
    const definition = template.Resources[logicalId];
    if (!definition) throw new ResolutionError(`${where}: no resource ${logicalId}`);
    if (!created.has(logicalId)) {
      throw new ResolutionError(
        `${where}: ${logicalId} is not created (its condition ${definition.Condition} is false)`,
      );
    }
    return { logicalId, type: definition.Type, properties: () => properties(logicalId), ctx };
  };

  const ref = (name: string, where: string): unknown => {
    if (name === "AWS::NoValue") return NO_VALUE;
    if (name in pseudo) return pseudo[name];
    if (name in parameters) return parameters[name];
    const model = modelOf(resource(name, where), where);
    return model.ref;
  };

  const getAtt = (logicalId: string, attribute: string, where: string): unknown => {
    const view = resource(logicalId, where);
    const model = modelOf(view, where);
    const attr = model.attributes[attribute];
    if (attr === undefined) {
      throw new ResolutionError(
        `${where}: Fn::GetAtt ${logicalId}.${attribute} is not modelled for ${view.type}`,
      );
    }
    return attr();
  };

  const resolveValue = (node: unknown, where: string): unknown => {
    if (Array.isArray(node)) {
      return node
        .map((item, i) => resolveValue(item, `${where}[${i}]`))
        .filter((item) => item !== NO_VALUE);
    }
    if (!isRecord(node)) return node;
    const keys = Object.keys(node);
    if (keys.length === 1 && (keys[0] === "Ref" || keys[0]!.startsWith("Fn::"))) {
      return intrinsic(keys[0]!, node[keys[0]!], `${where}.${keys[0]}`);
    }
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node)) {
      const resolved = resolveValue(value, `${where}.${key}`);
      if (resolved !== NO_VALUE) out[key] = resolved;
    }
    return out;
  };

  const intrinsic = (fn: string, arg: unknown, where: string): unknown => {
    switch (fn) {
      case "Ref":
        return ref(asString(arg, where), where);
      case "Fn::GetAtt": {
        const [id, attribute] =
          typeof arg === "string"
            ? [arg.slice(0, arg.indexOf(".")), arg.slice(arg.indexOf(".") + 1)]
            : asList(arg, where).map((x) => asString(resolveValue(x, where), where));
        return getAtt(id!, attribute!, where);
      }
      case "Fn::Join": {
        const [delimiter, list] = asList(arg, where);
        const items = asList(resolveValue(list, where), where);
        return items
          .map((x, i) => asString(x, `${where}[1][${i}]`))
          .join(asString(delimiter, where));
      }
      case "Fn::Sub": {
        const [text, variables] =
          typeof arg === "string" ? [arg, {}] : (asList(arg, where) as [unknown, unknown]);
        const vars = isRecord(variables) ? variables : {};
        return asString(text, where).replace(
          /\$\{(!?)([^}]+)\}/g,
          (_, bang: string, name: string) => {
            if (bang) return `\${${name}}`;
            if (name in vars) return asString(resolveValue(vars[name], `${where}.${name}`), where);
            const dot = name.indexOf(".");
            if (dot > 0 && !(name in pseudo) && !(name in parameters)) {
              return asString(getAtt(name.slice(0, dot), name.slice(dot + 1), where), where);
            }
            return asString(ref(name, where), where);
          },
        );
      }
      case "Fn::If": {
        const [name, whenTrue, whenFalse] = asList(arg, where);
        return condition(asString(name, where), where)
          ? resolveValue(whenTrue, `${where}[1]`)
          : resolveValue(whenFalse, `${where}[2]`);
      }
      case "Fn::Select": {
        const [index, list] = asList(arg, where);
        const items = asList(resolveValue(list, where), where);
        const i = Number(asString(resolveValue(index, where), where));
        if (!Number.isInteger(i) || i < 0 || i >= items.length) {
          throw new ResolutionError(`${where}: index ${i} out of a list of ${items.length}`);
        }
        return items[i];
      }
      case "Fn::Split": {
        const [delimiter, text] = asList(arg, where);
        return asString(resolveValue(text, where), where).split(asString(delimiter, where));
      }
      case "Fn::FindInMap": {
        const [map, top, second] = asList(arg, where).map((x) =>
          asString(resolveValue(x, where), where),
        );
        const value = template.Mappings?.[map!]?.[top!]?.[second!];
        if (value === undefined) throw new ResolutionError(`${where}: no ${map}.${top}.${second}`);
        return value;
      }
      case "Fn::GetAZs":
        return [...ctx.availabilityZones];
      case "Fn::ImportValue": {
        const name = asString(resolveValue(arg, where), where);
        const value = context.exports?.[name];
        if (value === undefined) throw new ResolutionError(`${where}: no stack exports ${name}`);
        return value;
      }
      case "Fn::Base64":
        return Buffer.from(asString(resolveValue(arg, where), where)).toString("base64");
      default:
        throw new ResolutionError(`${where}: ${fn} is not supported by this resolver`);
    }
  };

  checkRules(template.Rules ?? {}, (expression, where) => evaluateCondition(expression, where));
  created = new Set(
    Object.entries(template.Resources)
      .filter(([id, r]) => r.Condition === undefined || condition(r.Condition, `Resources.${id}`))
      .map(([id]) => id),
  );

  const resources: Record<string, ResolvedResource> = {};
  for (const id of created) {
    resources[id] = {
      type: template.Resources[id]!.Type,
      properties: properties(id),
      ref: asString(ref(id, `Resources.${id}`), `Resources.${id}`),
    };
  }
  const outputs: Record<string, unknown> = {};
  const exported: Record<string, string> = {};
  for (const [name, output] of Object.entries(template.Outputs ?? {})) {
    if (output.Condition !== undefined && !condition(output.Condition, `Outputs.${name}`)) continue;
    outputs[name] = resolveValue(output.Value, `Outputs.${name}`);
    if (output.Export !== undefined) {
      const where = `Outputs.${name}.Export.Name`;
      const exportName = asString(resolveValue(output.Export.Name, where), where);
      // CloudFormation refuses a stack whose export name another output already took.
      if (exportName in exported)
        throw new ResolutionError(`${where}: ${exportName} exported twice`);
      exported[exportName] = asString(outputs[name], `Outputs.${name}.Value`);
    }
  }
  const conditions: Record<string, boolean> = {};
  for (const name of Object.keys(template.Conditions ?? {})) {
    conditions[name] = condition(name, `Conditions.${name}`);
  }

  return {
    context: ctx,
    parameters,
    conditions,
    resources,
    outputs,
    exports: exported,
    attributes: (logicalId) => {
      const model = modelOf(resource(logicalId, "attributes"), "attributes");
      return Object.fromEntries(Object.entries(model.attributes).map(([k, get]) => [k, get()]));
    },
    resolve: (value, path = "value") => resolveValue(value, path),
    getAtt: (logicalId, attribute) => getAtt(logicalId, attribute, "getAtt"),
  };
}

/** Parameter values as CloudFormation checks and passes them (Ref of a Number is its string). */
function resolveParameters(
  definitions: Readonly<Record<string, TemplateParameter>>,
  context: StackContext,
): Record<string, string | string[]> {
  const given = context.parameters ?? {};
  for (const name of Object.keys(given)) {
    if (!(name in definitions)) throw new StackRefused(`Parameters: ${name} does not exist`);
  }
  const out: Record<string, string | string[]> = {};
  for (const [name, definition] of Object.entries(definitions)) {
    const raw =
      given[name] ?? (definition.Default === undefined ? undefined : String(definition.Default));
    if (raw === undefined) throw new StackRefused(`Parameters: ${name} must have a value`);
    const fail = (why: string): never => {
      throw new StackRefused(`Parameters: ${name} ${JSON.stringify(raw)} ${why}`);
    };
    if (definition.Type === "Number") {
      if (raw.trim() === "" || !Number.isFinite(Number(raw))) fail("is not a number");
      const n = Number(raw);
      if (definition.MinValue !== undefined && n < definition.MinValue) fail("is below MinValue");
      if (definition.MaxValue !== undefined && n > definition.MaxValue) fail("is above MaxValue");
    }
    if (definition.AllowedValues && !definition.AllowedValues.map(String).includes(raw)) {
      fail("is not one of AllowedValues");
    }
    if (definition.AllowedPattern !== undefined) {
      if (!new RegExp(`^(?:${definition.AllowedPattern})$`).test(raw)) fail("fails AllowedPattern");
    }
    if (definition.MinLength !== undefined && raw.length < definition.MinLength) fail("too short");
    if (definition.MaxLength !== undefined && raw.length > definition.MaxLength) fail("too long");
    const ssm = /^AWS::SSM::Parameter::Value<(.+)>$/.exec(definition.Type);
    if (ssm) {
      const value = context.ssmParameters?.[raw];
      if (value === undefined) fail("names an SSM parameter that does not exist");
      out[name] = ssm[1]!.startsWith("List<") ? value!.split(",") : value!;
    } else if (definition.Type.startsWith("List<") || definition.Type === "CommaDelimitedList") {
      out[name] = raw === "" ? [] : raw.split(",").map((s) => s.trim());
    } else {
      out[name] = raw;
    }
  }
  return out;
}

/** Evaluates the template's Rules; the first failing assertion refuses the stack. */
function checkRules(
  rules: Readonly<Record<string, unknown>>,
  evaluate: (expression: unknown, where: string) => boolean,
): void {
  for (const [name, rule] of Object.entries(rules)) {
    if (!isRecord(rule)) throw new ResolutionError(`Rules.${name}: not an object`);
    if (rule.RuleCondition !== undefined && !evaluate(rule.RuleCondition, `Rules.${name}`))
      continue;
    for (const [i, assertion] of asList(rule.Assertions, `Rules.${name}`).entries()) {
      if (!isRecord(assertion)) throw new ResolutionError(`Rules.${name}.Assertions[${i}]`);
      if (!evaluate(assertion.Assert, `Rules.${name}.Assertions[${i}]`)) {
        throw new StackRefused(
          `Rules.${name}: ${String(assertion.AssertDescription ?? `assertion ${i} failed`)}`,
        );
      }
    }
  }
}

interface ResourceView {
  readonly logicalId: string;
  readonly type: string;
  properties(): Record<string, unknown>;
  readonly ctx: { stackName: string; region: string; accountId: string; partition: string };
}

interface ResourceModel {
  readonly ref: string;
  readonly attributes: Readonly<Record<string, () => unknown>>;
}

/** `<stack>-<logicalId>-<SUFFIX>`, as CloudFormation names a resource that names none itself. */
function generatedName(view: ResourceView, maxLength: number, lowerCase = false): string {
  const tail = suffix(digest(view.ctx.stackName, view.logicalId), 12);
  const room = Math.max(1, maxLength - tail.length - 2);
  const head = `${view.ctx.stackName}-${view.logicalId}`.slice(0, room);
  const name = `${head}-${tail}`;
  return lowerCase ? name.toLowerCase() : name;
}

function awsId(prefix: string, view: ResourceView): string {
  return `${prefix}-${digest(view.ctx.stackName, view.ctx.region, view.logicalId).slice(0, 17)}`;
}

function named(view: ResourceView, property: string, maxLength: number, lowerCase = false): string {
  const given = view.properties()[property];
  return given === undefined
    ? generatedName(view, maxLength, lowerCase)
    : asString(given, `${view.logicalId}.${property}`);
}

function arn(
  view: ResourceView,
  service: string,
  resource: string,
  regional = true,
  account = true,
) {
  const { partition, region, accountId } = view.ctx;
  return `arn:${partition}:${service}:${regional ? region : ""}:${account ? accountId : ""}:${resource}`;
}

/** What Ref and Fn::GetAtt return, per resource type: only the attributes this project uses. */
function modelOf(view: ResourceView, where: string): ResourceModel {
  const { region } = view.ctx;
  const p = (): Record<string, unknown> => view.properties();
  switch (view.type) {
    case "AWS::DynamoDB::Table": {
      const name = named(view, "TableName", 255);
      return {
        ref: name,
        attributes: {
          Arn: () => arn(view, "dynamodb", `table/${name}`),
          StreamArn: () => arn(view, "dynamodb", `table/${name}/stream/2026-01-01T00:00:00.000`),
        },
      };
    }
    case "AWS::S3::Bucket": {
      const name = named(view, "BucketName", 63, true);
      return {
        ref: name,
        attributes: {
          Arn: () => arn(view, "s3", name, false, false),
          DomainName: () => `${name}.s3.amazonaws.com`,
          RegionalDomainName: () => `${name}.s3.${region}.amazonaws.com`,
        },
      };
    }
    case "AWS::IAM::Role": {
      const name = named(view, "RoleName", 64);
      const path = (p().Path as string | undefined) ?? "/";
      return {
        ref: name,
        attributes: {
          Arn: () => arn(view, "iam", `role${path}${name}`, false),
          RoleId: () => `AROA${suffix(name, 17)}`,
        },
      };
    }
    case "AWS::IAM::InstanceProfile": {
      const name = named(view, "InstanceProfileName", 128);
      return {
        ref: name,
        attributes: { Arn: () => arn(view, "iam", `instance-profile/${name}`, false) },
      };
    }
    case "AWS::IAM::Policy":
      return { ref: generatedName(view, 128), attributes: {} };
    case "AWS::IAM::ManagedPolicy": {
      // Ref of a managed policy is its ARN (an inline policy's is only a physical id).
      const name = named(view, "ManagedPolicyName", 128);
      const path = (p().Path as string | undefined) ?? "/";
      const policyArn = arn(view, "iam", `policy${path}${name}`, false);
      return { ref: policyArn, attributes: { PolicyArn: () => policyArn } };
    }
    case "AWS::SNS::Topic": {
      const name = named(view, "TopicName", 256);
      const topicArn = arn(view, "sns", name);
      return { ref: topicArn, attributes: { TopicArn: () => topicArn, TopicName: () => name } };
    }
    case "AWS::SSM::Parameter":
      return {
        ref: named(view, "Name", 1011),
        attributes: { Type: () => p().Type, Value: () => p().Value },
      };
    case "AWS::SecretsManager::Secret": {
      const name = named(view, "Name", 512);
      const secretArn = arn(
        view,
        "secretsmanager",
        `secret:${name}-${suffix(name, 6, "abcdefghijklmnopqrstuvwxyz")}`,
      );
      return { ref: secretArn, attributes: { Id: () => secretArn } };
    }
    case "AWS::Logs::LogGroup": {
      const name = named(view, "LogGroupName", 512);
      return { ref: name, attributes: { Arn: () => arn(view, "logs", `log-group:${name}:*`) } };
    }
    case "AWS::EC2::VPC":
      return {
        ref: awsId("vpc", view),
        attributes: {
          CidrBlock: () => p().CidrBlock,
          DefaultSecurityGroup: () =>
            awsId("sg", { ...view, logicalId: `${view.logicalId}Default` }),
          VpcId: () => awsId("vpc", view),
        },
      };
    case "AWS::EC2::Subnet":
      return { ref: awsId("subnet", view), attributes: { SubnetId: () => awsId("subnet", view) } };
    case "AWS::EC2::SecurityGroup":
      return {
        ref: awsId("sg", view),
        attributes: { GroupId: () => awsId("sg", view), VpcId: () => p().VpcId },
      };
    case "AWS::EC2::InternetGateway":
      return { ref: awsId("igw", view), attributes: {} };
    case "AWS::EC2::RouteTable":
      return { ref: awsId("rtb", view), attributes: {} };
    case "AWS::EC2::NatGateway":
      return { ref: awsId("nat", view), attributes: {} };
    case "AWS::EC2::EIP":
      return { ref: "198.51.100.7", attributes: { AllocationId: () => awsId("eipalloc", view) } };
    case "AWS::EC2::VPCEndpoint":
      return { ref: awsId("vpce", view), attributes: {} };
    case "AWS::EC2::FlowLog":
      return { ref: awsId("fl", view), attributes: {} };
    case "AWS::EC2::LaunchTemplate":
      return {
        ref: awsId("lt", view),
        attributes: { LatestVersionNumber: () => "1", DefaultVersionNumber: () => "1" },
      };
    case "AWS::ElasticLoadBalancingV2::LoadBalancer": {
      const name = named(view, "Name", 32);
      const id = digest(view.ctx.stackName, view.logicalId).slice(0, 16);
      const scheme = p().Scheme === "internal" ? "internal-" : "";
      return {
        ref: arn(view, "elasticloadbalancing", `loadbalancer/app/${name}/${id}`),
        attributes: {
          LoadBalancerFullName: () => `app/${name}/${id}`,
          LoadBalancerName: () => name,
          DNSName: () => `${scheme}${name}-${id.slice(0, 10)}.${region}.elb.amazonaws.com`,
          CanonicalHostedZoneID: () => "Z0000000000000",
        },
      };
    }
    case "AWS::ElasticLoadBalancingV2::TargetGroup": {
      const name = named(view, "Name", 32);
      const id = digest(view.ctx.stackName, view.logicalId).slice(0, 16);
      return {
        ref: arn(view, "elasticloadbalancing", `targetgroup/${name}/${id}`),
        attributes: {
          TargetGroupFullName: () => `targetgroup/${name}/${id}`,
          TargetGroupName: () => name,
        },
      };
    }
    case "AWS::ElasticLoadBalancingV2::Listener": {
      // As in AWS, the listener's ARN carries its load balancer's: `listener/app/<name>/<id>/<id>`
      // (the CDK reads the load balancer's full name back from it for target group metrics).
      const id = digest(view.ctx.stackName, view.logicalId).slice(0, 16);
      const loadBalancerArn = asString(p().LoadBalancerArn, `${view.logicalId}.LoadBalancerArn`);
      return {
        ref: `${loadBalancerArn.replace(":loadbalancer/", ":listener/")}/${id}`,
        attributes: {},
      };
    }
    case "AWS::AutoScaling::AutoScalingGroup":
      return { ref: named(view, "AutoScalingGroupName", 255), attributes: {} };
    case "AWS::AutoScaling::ScalingPolicy":
      return {
        ref: arn(
          view,
          "autoscaling",
          `scalingPolicy:${digest(view.ctx.stackName, view.logicalId).slice(0, 8)}:policyName/${generatedName(view, 255)}`,
        ),
        attributes: {},
      };
    case "AWS::ElastiCache::ReplicationGroup": {
      const id = named(view, "ReplicationGroupId", 40, true);
      return {
        ref: id,
        attributes: {
          "PrimaryEndPoint.Address": () =>
            `master.${id}.abc123.${regionCode(region)}.cache.amazonaws.com`,
          "PrimaryEndPoint.Port": () => "6379",
        },
      };
    }
    case "AWS::ElastiCache::SubnetGroup":
      return { ref: named(view, "CacheSubnetGroupName", 255, true), attributes: {} };
    case "AWS::CloudWatch::Alarm": {
      const name = named(view, "AlarmName", 255);
      return { ref: name, attributes: { Arn: () => arn(view, "cloudwatch", `alarm:${name}`) } };
    }
    case "AWS::CloudWatch::Dashboard":
      return { ref: named(view, "DashboardName", 255), attributes: {} };
    case "AWS::CodeBuild::Project": {
      const name = named(view, "Name", 150);
      return { ref: name, attributes: { Arn: () => arn(view, "codebuild", `project/${name}`) } };
    }
    case "AWS::CodeDeploy::Application":
      return { ref: named(view, "ApplicationName", 100), attributes: {} };
    case "AWS::CodeDeploy::DeploymentGroup":
      return { ref: named(view, "DeploymentGroupName", 100), attributes: {} };
    case "AWS::CodePipeline::Pipeline":
      return { ref: named(view, "Name", 100), attributes: {} };
    case "AWS::CloudFront::Distribution": {
      const id = `E${suffix(digest(view.ctx.stackName, view.logicalId), 13)}`;
      const host = `d${digest(view.ctx.stackName, view.ctx.accountId, view.logicalId).slice(0, 13)}`;
      return {
        ref: id,
        attributes: {
          DomainName: () => `${host}.cloudfront.net`,
          Id: () => id,
        },
      };
    }
    case "AWS::CloudFront::VpcOrigin": {
      const id = `vo_${suffix(digest(view.ctx.stackName, view.logicalId), 22)}`;
      return {
        ref: id,
        attributes: { Id: () => id, Arn: () => arn(view, "cloudfront", `vpcorigin/${id}`, false) },
      };
    }
    case "AWS::Cognito::UserPool": {
      const id = `${region}_${suffix(digest(view.ctx.stackName, view.logicalId), 9, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")}`;
      return {
        ref: id,
        attributes: {
          Arn: () => arn(view, "cognito-idp", `userpool/${id}`),
          ProviderName: () => `cognito-idp.${region}.amazonaws.com/${id}`,
          ProviderURL: () => `https://cognito-idp.${region}.amazonaws.com/${id}`,
          UserPoolId: () => id,
        },
      };
    }
    case "AWS::Cognito::UserPoolClient": {
      const id = suffix(
        digest(view.ctx.stackName, view.logicalId),
        26,
        "abcdefghijklmnopqrstuvwxyz0123456789",
      );
      return { ref: id, attributes: { ClientId: () => id } };
    }
    case "AWS::Cognito::UserPoolDomain": {
      const prefix = asString(p().Domain, `${view.logicalId}.Domain`);
      return {
        ref: prefix,
        attributes: {
          CloudFrontDistribution: () => `d${digest(prefix).slice(0, 13)}.cloudfront.net`,
        },
      };
    }
    case "AWS::Cognito::UserPoolUser":
      return { ref: asString(p().Username, `${view.logicalId}.Username`), attributes: {} };
    case "AWS::Cognito::ManagedLoginBranding":
      return { ref: digest(view.ctx.stackName, view.logicalId).slice(0, 36), attributes: {} };
    case "AWS::WAFv2::WebACL": {
      const name = named(view, "Name", 128);
      const scope = p().Scope === "CLOUDFRONT" ? "global" : "regional";
      const id = digest(view.ctx.stackName, view.logicalId).slice(0, 32);
      const aclArn = arn(view, "wafv2", `${scope}/webacl/${name}/${id}`);
      return { ref: `${name}|${id}|${p().Scope}`, attributes: { Arn: () => aclArn, Id: () => id } };
    }
    case "AWS::CloudFormation::WaitConditionHandle":
      // Ref is a presigned URL; nothing here reads it.
      return {
        ref: `https://cloudformation-waitcondition-${region}.s3.amazonaws.com/${view.logicalId}`,
        attributes: {},
      };
    case "AWS::SNS::Subscription":
    case "AWS::SNS::TopicPolicy":
    case "AWS::S3::BucketPolicy":
    case "AWS::EC2::Route":
    case "AWS::EC2::SubnetRouteTableAssociation":
    case "AWS::EC2::VPCGatewayAttachment":
    case "AWS::EC2::SecurityGroupIngress":
    case "AWS::EC2::SecurityGroupEgress":
      return { ref: generatedName(view, 255), attributes: {} };
    default:
      throw new ResolutionError(`${where}: resource type ${view.type} is not modelled`);
  }
}

/** `euw3` for eu-west-3, as ElastiCache endpoints abbreviate regions. */
function regionCode(region: string): string {
  const [area, direction, n] = region.split("-");
  return `${area}${(direction ?? "").replace(/north|south|east|west|central/g, (d) => d[0]!)}${n ?? ""}`;
}

/** Every string in a resolved value, with its path: for scanning what a stack really contains. */
export function stringsIn(value: unknown, path = ""): Array<{ path: string; value: string }> {
  if (typeof value === "string") return [{ path, value }];
  if (Array.isArray(value)) return value.flatMap((v, i) => stringsIn(v, `${path}[${i}]`));
  if (isRecord(value))
    return Object.entries(value).flatMap(([k, v]) => stringsIn(v, `${path}.${k}`));
  return [];
}
