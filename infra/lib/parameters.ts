import {
  CfnCondition,
  CfnParameter,
  type CfnParameterProps,
  CfnRule,
  Fn,
  type ICfnConditionExpression,
  type Stack,
} from "aws-cdk-lib";

/**
 * The stack's CloudFormation parameters, so that one committed template serves every account
 * and the CloudFormation console shows a form (grouped and labelled, as the original's
 * `AWS::CloudFormation::Interface` metadata did). Parameters live directly on the stack so their
 * logical ids are the plain names below: the deploy CLI and `parameters.example.json` use them.
 *
 * Each stack declares the parameters it uses: the one-shot template all of ONE_SHOT_PARAMETERS,
 * each layered piece (pieces.ts) only its own, so that one parameter file serves both and a
 * console user of a piece sees only what that piece reads.
 */

/** Instance types offered: Graviton only, because the default image parameter is arm64. */
export const INSTANCE_TYPES = [
  "t4g.micro",
  "t4g.small",
  "t4g.medium",
  "t4g.large",
  "m7g.medium",
  "m7g.large",
  "c7g.medium",
  "c7g.large",
] as const;

/** ElastiCache node types that can still be created (no T2) and support TLS + AUTH. */
export const CACHE_NODE_TYPES = [
  "cache.t4g.micro",
  "cache.t4g.small",
  "cache.t4g.medium",
  "cache.t3.micro",
  "cache.t3.small",
  "cache.t3.medium",
  "cache.m7g.large",
] as const;

/** The retention values CloudWatch Logs accepts (a subset; the common ones). */
export const LOG_RETENTION_DAYS = [
  "1",
  "3",
  "5",
  "7",
  "14",
  "30",
  "60",
  "90",
  "180",
  "365",
] as const;

/** Bounds of MinSize, DesiredCapacity and MaxSize. */
export const FLEET_SIZE_MIN = 1;
export const FLEET_SIZE_MAX = 20;

/**
 * The console's parameter groups (AWS::CloudFormation::Interface), in the order it shows them.
 * Each parameter below names its group; within a group, parameters keep their template order.
 */
const GROUPS = {
  naming: "Naming",
  operator: "Operator",
  source: "Source (GitHub through CodeConnections)",
  fleet: "Fleet",
  entry: "Entry point (CloudFront)",
  cache: "Cache (anti-forgery key ring)",
  table: "Users table",
  delivery: "Delivery",
  monitoring: "Monitoring",
  existingNetwork: "Existing network (instead of 01-network)",
  existingTable: "Existing table (instead of 02-data)",
} as const;

/** A parameter: its CloudFormation properties, and where and how the console shows it. */
interface ParameterDeclaration extends CfnParameterProps {
  /** The console group it belongs to. */
  readonly group: keyof typeof GROUPS;
  /** Its label in the console form. */
  readonly label: string;
}

/**
 * Every parameter any template of this app declares, in the order templates list them, each with
 * its console group and label: the one place a parameter is named. The one-shot template has the
 * first 25 (ONE_SHOT_PARAMETERS); the Existing* ones belong to the bring-your-own pieces only.
 */
export const PARAMETER_DEFINITIONS = {
  AppName: {
    group: "naming",
    label: "Application name",
    type: "String",
    default: "fleetline",
    // Lower case because it becomes part of the cache's replication group id and bucket-safe names.
    allowedPattern: "^[a-z][a-z0-9]{1,14}$",
    constraintDescription: "2 to 15 lower-case letters or digits, starting with a letter",
    description: "Prefix of resource names, log groups and the /<app>/<env>/ parameter path.",
  },
  EnvName: {
    group: "naming",
    label: "Environment name",
    type: "String",
    default: "prod",
    allowedPattern: "^[a-z][a-z0-9]{0,9}$",
    constraintDescription: "1 to 10 lower-case letters or digits, starting with a letter",
    description: "Environment name (prod, staging…), second part of resource names.",
  },
  OperatorEmail: {
    group: "operator",
    label: "Operator e-mail (alarms, scaling events)",
    type: "String",
    allowedPattern: "^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$",
    constraintDescription: "an e-mail address such as ops@example.com",
    description:
      "Receives alarms and instance launch/termination notices (confirm the SNS subscription e-mail).",
  },
  ConnectionArn: {
    group: "source",
    label: "CodeConnections connection ARN",
    type: "String",
    allowedPattern:
      "^arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]+:[0-9]{12}:connection/[0-9a-f-]{36}$",
    constraintDescription:
      "a connection ARN such as arn:aws:codeconnections:us-east-1:123456789012:connection/<uuid>",
    description:
      "GitHub connection created once in the console (Developer Tools > Settings > Connections), status Available.",
  },
  RepositoryOwner: {
    group: "source",
    label: "GitHub owner (user or organisation)",
    type: "String",
    allowedPattern: "^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$",
    constraintDescription: "a GitHub user or organisation name",
    description: "GitHub user or organisation that owns the repository.",
  },
  RepositoryName: {
    group: "source",
    label: "GitHub repository",
    type: "String",
    default: "fleetline",
    allowedPattern: "^[A-Za-z0-9._-]{1,100}$",
    constraintDescription: "a GitHub repository name (letters, digits, '.', '_', '-')",
    description: "Repository holding buildspec.yml at its root.",
  },
  BranchName: {
    group: "source",
    label: "Branch to deploy",
    type: "String",
    default: "main",
    allowedPattern: "^[A-Za-z0-9._/-]{1,200}$",
    constraintDescription: "a git branch name",
    description: "Each push to this branch runs the pipeline.",
  },
  InstanceType: {
    group: "fleet",
    label: "Instance type",
    type: "String",
    default: "t4g.micro",
    allowedValues: [...INSTANCE_TYPES],
    description: "Graviton (arm64) instance type of the web fleet.",
  },
  LatestAmiId: {
    group: "fleet",
    label: "AMI (SSM public parameter)",
    type: "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>",
    default: "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64",
    description:
      "Public SSM parameter of the Amazon Linux 2023 arm64 image; resolved at each stack update.",
  },
  MinSize: {
    group: "fleet",
    label: "Minimum instances",
    type: "Number",
    default: 2,
    minValue: FLEET_SIZE_MIN,
    maxValue: FLEET_SIZE_MAX,
    description: "Never fewer instances than this (2 keeps one per Availability Zone).",
  },
  DesiredCapacity: {
    group: "fleet",
    label: "Desired instances",
    type: "Number",
    default: 2,
    minValue: FLEET_SIZE_MIN,
    maxValue: FLEET_SIZE_MAX,
    description: "Instances at creation; target tracking on CPU moves it between min and max.",
  },
  MaxSize: {
    group: "fleet",
    label: "Maximum instances",
    type: "Number",
    default: 4,
    minValue: FLEET_SIZE_MIN,
    maxValue: FLEET_SIZE_MAX,
    description: "Never more instances than this.",
  },
  InstanceSubnets: {
    group: "fleet",
    label: "Instance subnets",
    type: "String",
    default: "public",
    allowedValues: ["public", "private"],
    description:
      "public: instances get public addresses (no NAT cost, no inbound rule but the ALB's). private: instances behind one NAT gateway (about 37 USD/month more in us-east-1).",
  },
  DomainNames: {
    group: "entry",
    label: "Custom domain names (optional)",
    type: "String",
    default: "",
    allowedPattern: "^$|^([a-z0-9-]+\\.)+[a-z]{2,}(,([a-z0-9-]+\\.)+[a-z]{2,})*$",
    constraintDescription: "empty, or host names separated by commas, e.g. users.example.com",
    description:
      "Leave empty to use the distribution's own https://<id>.cloudfront.net. Otherwise your names (comma separated), covered by the certificate below; point them at the distribution (CNAME or Route 53 alias).",
  },
  CertificateArn: {
    group: "entry",
    label: "ACM certificate ARN in us-east-1 (with domain names)",
    type: "String",
    default: "",
    // CloudFront takes certificates from us-east-1 only, whatever the stack's region.
    allowedPattern: "^$|^arn:aws[a-z-]*:acm:us-east-1:[0-9]{12}:certificate/[0-9a-f-]{36}$",
    constraintDescription:
      "empty, or an ACM certificate ARN in us-east-1 such as arn:aws:acm:us-east-1:123456789012:certificate/<uuid>",
    description:
      "With DomainNames: an ACM certificate in us-east-1 (CloudFront's region) covering them. Empty with DomainNames empty.",
  },
  WebAclArn: {
    group: "entry",
    label: "WAF web ACL ARN (optional)",
    type: "String",
    default: "",
    allowedPattern: "^$|^arn:aws[a-z-]*:wafv2:us-east-1:[0-9]{12}:global/webacl/.+$",
    constraintDescription:
      "empty, or the ARN of a CLOUDFRONT-scope web ACL (created in us-east-1, e.g. from cloudformation/edge-waf.template.json)",
    description:
      "Optional AWS WAF web ACL for the distribution (costs extra; see the README). Empty: none.",
  },
  CacheEngine: {
    group: "cache",
    label: "Cache engine",
    type: "String",
    default: "valkey",
    allowedValues: ["valkey", "redis"],
    description: "Valkey is cheaper than Redis OSS and speaks the same protocol.",
  },
  CacheNodeType: {
    group: "cache",
    label: "Cache node type",
    type: "String",
    default: "cache.t4g.micro",
    allowedValues: [...CACHE_NODE_TYPES],
    description: "ElastiCache node type (T2 nodes can no longer be created).",
  },
  CacheNodeCount: {
    group: "cache",
    label: "Cache nodes",
    type: "Number",
    default: 1,
    minValue: 1,
    maxValue: 3,
    description:
      "1 = a single primary (the original's shape). 2 or 3 adds replicas with automatic failover across zones.",
  },
  TableBillingMode: {
    group: "table",
    label: "Billing mode",
    type: "String",
    default: "PAY_PER_REQUEST",
    allowedValues: ["PAY_PER_REQUEST", "PROVISIONED"],
    description: "On-demand by default; PROVISIONED uses the capacities below (as the original).",
  },
  TableReadCapacity: {
    group: "table",
    label: "Read capacity units (provisioned only)",
    type: "Number",
    default: 5,
    minValue: 1,
    maxValue: 1000,
    description: "Read capacity units when provisioned.",
  },
  TableWriteCapacity: {
    group: "table",
    label: "Write capacity units (provisioned only)",
    type: "Number",
    default: 5,
    minValue: 1,
    maxValue: 1000,
    description: "Write capacity units when provisioned.",
  },
  TableDeletionProtection: {
    group: "table",
    label: "Deletion protection",
    type: "String",
    default: "true",
    allowedValues: ["true", "false"],
    description:
      "Refuse DeleteTable calls. The table is retained when the stack is deleted either way.",
  },
  DeploymentStrategy: {
    group: "delivery",
    label: "Deployment strategy",
    type: "String",
    default: "OneAtATime",
    allowedValues: ["OneAtATime", "HalfAtATime", "AllAtOnce"],
    description:
      "CodeDeploy in-place configuration. OneAtATime keeps all but one instance serving.",
  },
  LogRetentionDays: {
    group: "monitoring",
    label: "Log retention (days)",
    type: "Number",
    // A string, like the allowed values: CloudFormation compares parameter values as strings,
    // and cfn-lint (E2015) rejects a number default among string AllowedValues.
    default: "30",
    allowedValues: [...LOG_RETENTION_DAYS],
    description:
      "Retention of every log group of the stack (web, deployments, system, build, flow logs).",
  },
  ExistingVpcId: {
    group: "existingNetwork",
    label: "VPC",
    type: "AWS::EC2::VPC::Id",
    description:
      "The VPC to deploy into instead of creating one (01-network.existing). It needs an internet gateway: CloudFront's VPC origin requires one, and public instances use it.",
  },
  ExistingVpcCidr: {
    group: "existingNetwork",
    label: "VPC address range (CIDR)",
    type: "String",
    allowedPattern: "^(\\d{1,3}\\.){3}\\d{1,3}/\\d{1,2}$",
    constraintDescription: "a CIDR block such as 10.0.0.0/16",
    description: "The VPC's primary address range; nginx trusts X-Forwarded-For only from it.",
  },
  ExistingPublicSubnetIds: {
    group: "existingNetwork",
    label: "Two public subnets (route to an internet gateway)",
    type: "List<AWS::EC2::Subnet::Id>",
    description:
      "Two public subnets in two Availability Zones (the first two are used): the instances' with InstanceSubnets=public.",
  },
  ExistingAppSubnetIds: {
    group: "existingNetwork",
    label: "Two private subnets for the load balancer (and private instances)",
    type: "List<AWS::EC2::Subnet::Id>",
    description:
      "Two private subnets in two Availability Zones (the first two are used): the internal load balancer and CloudFront's VPC origin, and the instances with InstanceSubnets=private (which then need a NAT route of yours).",
  },
  ExistingAppSubnetCidrs: {
    group: "existingNetwork",
    label: "Address ranges of those two private subnets, same order",
    type: "CommaDelimitedList",
    description:
      "The address ranges of the two ExistingAppSubnetIds, in the same order: the only sources the load balancer admits.",
  },
  ExistingCacheSubnetIds: {
    group: "existingNetwork",
    label: "Two subnets for the cache (isolated is best)",
    type: "List<AWS::EC2::Subnet::Id>",
    description:
      "Two subnets in two Availability Zones for the cache (the first two are used); best without any route out.",
  },
  ExistingTableName: {
    group: "existingTable",
    label: "Users table name",
    type: "String",
    allowedPattern: "^[a-zA-Z0-9_.-]{3,255}$",
    constraintDescription: "a DynamoDB table name (3 to 255 letters, digits, '_', '-', '.')",
    description:
      "An existing Users table (partition key id, string) in this account and region, instead of creating one (02-data.existing).",
  },
} as const satisfies Record<string, ParameterDeclaration>;

export type ParameterName = keyof typeof PARAMETER_DEFINITIONS;

/** The parameters of the one-shot template (cloudformation/fleetline.template.json), in order. */
export const ONE_SHOT_PARAMETERS: readonly ParameterName[] = (
  Object.keys(PARAMETER_DEFINITIONS) as ParameterName[]
).filter((name) => !name.startsWith("Existing"));

/**
 * The parameters (and the conditions and rules derived from them) of one stack, as tokens for
 * the constructs. Reading a parameter the stack did not declare throws at synth time, so a piece
 * cannot silently depend on a value its template lacks.
 */
export class StackParameters {
  private readonly declared = new Map<ParameterName, CfnParameter>();
  private readonly conditions = new Map<string, CfnCondition>();

  /**
   * @param names the parameters this stack declares; created in PARAMETER_DEFINITIONS' order.
   * @default ONE_SHOT_PARAMETERS
   */
  constructor(stack: Stack, names: readonly ParameterName[] = ONE_SHOT_PARAMETERS) {
    const wanted = new Set(names);
    for (const name of Object.keys(PARAMETER_DEFINITIONS) as ParameterName[]) {
      if (wanted.has(name)) {
        const { group: _group, label: _label, ...props } = PARAMETER_DEFINITIONS[name];
        this.declared.set(name, new CfnParameter(stack, name, props));
      }
    }
    const has = (...required: ParameterName[]): boolean =>
      required.every((n) => this.declared.has(n));

    if (has("InstanceSubnets")) {
      this.addCondition(
        stack,
        "PrivateInstances",
        Fn.conditionEquals(this.instanceSubnets.valueAsString, "private"),
      );
    }
    // Both, as the DomainNamesWithCertificate rule requires: stated here too so that the
    // condition alone shows the certificate is non-empty wherever it is used.
    if (has("DomainNames", "CertificateArn")) {
      this.addCondition(
        stack,
        "CustomDomain",
        Fn.conditionAnd(
          Fn.conditionNot(Fn.conditionEquals(this.domainNames.valueAsString, "")),
          Fn.conditionNot(Fn.conditionEquals(this.certificateArn.valueAsString, "")),
        ),
      );
    }
    if (has("WebAclArn")) {
      this.addCondition(
        stack,
        "WebAclEnabled",
        Fn.conditionNot(Fn.conditionEquals(this.webAclArn.valueAsString, "")),
      );
    }
    if (has("TableBillingMode")) {
      this.addCondition(
        stack,
        "ProvisionedTable",
        Fn.conditionEquals(this.tableBillingMode.valueAsString, "PROVISIONED"),
      );
    }
    if (has("CacheNodeCount")) {
      this.addCondition(
        stack,
        "CacheReplicated",
        Fn.conditionNot(Fn.conditionEquals(this.cacheNodeCount.valueAsString, "1")),
      );
    }

    if (has("MinSize", "DesiredCapacity", "MaxSize")) this.addFleetSizeRules(stack);
    if (has("DomainNames", "CertificateArn")) {
      // CloudFront refuses aliases without a certificate and a certificate without aliases.
      const noDomain = Fn.conditionEquals(this.domainNames.valueAsString, "");
      const noCertificate = Fn.conditionEquals(this.certificateArn.valueAsString, "");
      new CfnRule(stack, "DomainNamesWithCertificate", {
        assertions: [
          {
            assert: Fn.conditionOr(
              Fn.conditionAnd(noDomain, noCertificate),
              Fn.conditionAnd(Fn.conditionNot(noDomain), Fn.conditionNot(noCertificate)),
            ),
            assertDescription:
              "DomainNames and CertificateArn go together: give both (a us-east-1 certificate covering the names) or neither",
          },
        ],
      });
    }

    const declared = this.names.map((name) => ({ name, ...PARAMETER_DEFINITIONS[name] }));
    stack.templateOptions.metadata = {
      "AWS::CloudFormation::Interface": {
        ParameterGroups: Object.entries(GROUPS)
          .map(([group, label]) => ({
            Label: { default: label },
            Parameters: declared.filter((d) => d.group === group).map((d) => d.name),
          }))
          .filter((g) => g.Parameters.length > 0),
        ParameterLabels: Object.fromEntries(declared.map((d) => [d.name, { default: d.label }])),
      },
    };
  }

  /** Names of the parameters this stack declares, in template order. */
  public get names(): ParameterName[] {
    return [...this.declared.keys()];
  }

  /** The parameter `name`; throws when this stack does not declare it. */
  public get(name: ParameterName): CfnParameter {
    const parameter = this.declared.get(name);
    if (!parameter) {
      throw new Error(
        `parameter ${name} is not declared by this stack: add it to the stack's parameter list`,
      );
    }
    return parameter;
  }

  private addCondition(stack: Stack, name: string, expression: ICfnConditionExpression): void {
    this.conditions.set(name, new CfnCondition(stack, name, { expression }));
  }

  private condition(name: string): CfnCondition {
    const condition = this.conditions.get(name);
    if (!condition) {
      throw new Error(`condition ${name} needs parameters this stack does not declare`);
    }
    return condition;
  }

  public get appName(): CfnParameter {
    return this.get("AppName");
  }

  public get envName(): CfnParameter {
    return this.get("EnvName");
  }

  public get operatorEmail(): CfnParameter {
    return this.get("OperatorEmail");
  }

  public get connectionArn(): CfnParameter {
    return this.get("ConnectionArn");
  }

  public get repositoryOwner(): CfnParameter {
    return this.get("RepositoryOwner");
  }

  public get repositoryName(): CfnParameter {
    return this.get("RepositoryName");
  }

  public get branchName(): CfnParameter {
    return this.get("BranchName");
  }

  public get instanceType(): CfnParameter {
    return this.get("InstanceType");
  }

  public get latestAmiId(): CfnParameter {
    return this.get("LatestAmiId");
  }

  public get minSize(): CfnParameter {
    return this.get("MinSize");
  }

  public get desiredCapacity(): CfnParameter {
    return this.get("DesiredCapacity");
  }

  public get maxSize(): CfnParameter {
    return this.get("MaxSize");
  }

  public get instanceSubnets(): CfnParameter {
    return this.get("InstanceSubnets");
  }

  public get domainNames(): CfnParameter {
    return this.get("DomainNames");
  }

  public get certificateArn(): CfnParameter {
    return this.get("CertificateArn");
  }

  public get webAclArn(): CfnParameter {
    return this.get("WebAclArn");
  }

  public get cacheEngine(): CfnParameter {
    return this.get("CacheEngine");
  }

  public get cacheNodeType(): CfnParameter {
    return this.get("CacheNodeType");
  }

  public get cacheNodeCount(): CfnParameter {
    return this.get("CacheNodeCount");
  }

  public get tableBillingMode(): CfnParameter {
    return this.get("TableBillingMode");
  }

  public get tableReadCapacity(): CfnParameter {
    return this.get("TableReadCapacity");
  }

  public get tableWriteCapacity(): CfnParameter {
    return this.get("TableWriteCapacity");
  }

  public get tableDeletionProtection(): CfnParameter {
    return this.get("TableDeletionProtection");
  }

  public get deploymentStrategy(): CfnParameter {
    return this.get("DeploymentStrategy");
  }

  public get logRetentionDays(): CfnParameter {
    return this.get("LogRetentionDays");
  }

  public get existingVpcId(): CfnParameter {
    return this.get("ExistingVpcId");
  }

  public get existingVpcCidr(): CfnParameter {
    return this.get("ExistingVpcCidr");
  }

  public get existingPublicSubnetIds(): CfnParameter {
    return this.get("ExistingPublicSubnetIds");
  }

  public get existingAppSubnetIds(): CfnParameter {
    return this.get("ExistingAppSubnetIds");
  }

  public get existingAppSubnetCidrs(): CfnParameter {
    return this.get("ExistingAppSubnetCidrs");
  }

  public get existingCacheSubnetIds(): CfnParameter {
    return this.get("ExistingCacheSubnetIds");
  }

  public get existingTableName(): CfnParameter {
    return this.get("ExistingTableName");
  }

  /** True when instances run in private subnets behind a NAT gateway. */
  public get privateInstances(): CfnCondition {
    return this.condition("PrivateInstances");
  }
  /** True when aliases (and their certificate) were given: CloudFront serves them. */
  public get customDomain(): CfnCondition {
    return this.condition("CustomDomain");
  }
  /** True when a web ACL ARN was given. */
  public get webAclEnabled(): CfnCondition {
    return this.condition("WebAclEnabled");
  }
  /** True when the table is provisioned (RCU/WCU apply). */
  public get provisionedTable(): CfnCondition {
    return this.condition("ProvisionedTable");
  }
  /** True when the cache has replicas (automatic failover and Multi-AZ need two nodes). */
  public get cacheReplicated(): CfnCondition {
    return this.condition("CacheReplicated");
  }

  /**
   * MinSize ≤ DesiredCapacity ≤ MaxSize and MinSize < MaxSize, as Rules: CloudFormation checks
   * them before creating anything, so a console deploy refuses what `npm run deploy` refuses
   * (without them the Auto Scaling group fails half-way through the stack, or a rolling update
   * that keeps MinSize in service cannot add an instance). Rule functions cannot compare numbers,
   * so each rule enumerates the sizes: "when MinSize is k, MaxSize is one of k+1…20".
   */
  private addFleetSizeRules(stack: Stack): void {
    const sizes = (from: number): string[] => {
      const out: string[] = [];
      for (let n = from; n <= FLEET_SIZE_MAX; n++) out.push(String(n));
      return out;
    };
    const rule = (
      id: string,
      when: CfnParameter,
      then: CfnParameter,
      firstAllowed: (k: number) => number,
      description: string,
    ): void => {
      const assertions = [];
      for (let k = FLEET_SIZE_MIN; k <= FLEET_SIZE_MAX; k++) {
        const allowed = sizes(firstAllowed(k));
        const isK = Fn.conditionEquals(when.valueAsString, String(k));
        assertions.push({
          // Nothing is allowed after the largest size (MinSize 20 leaves no MaxSize above it).
          assert:
            allowed.length > 0
              ? Fn.conditionOr(
                  Fn.conditionNot(isK),
                  Fn.conditionContains(allowed, then.valueAsString),
                )
              : Fn.conditionNot(isK),
          assertDescription: description,
        });
      }
      new CfnRule(stack, id, { assertions });
    };
    rule(
      "MaxSizeAboveMinSize",
      this.minSize,
      this.maxSize,
      (k) => k + 1,
      "MaxSize must be above MinSize: a rolling update keeps MinSize instances in service and adds one",
    );
    rule(
      "DesiredCapacityAtLeastMinSize",
      this.minSize,
      this.desiredCapacity,
      (k) => k,
      "DesiredCapacity must be at least MinSize (MinSize ≤ DesiredCapacity ≤ MaxSize)",
    );
    rule(
      "DesiredCapacityAtMostMaxSize",
      this.desiredCapacity,
      this.maxSize,
      (k) => k,
      "DesiredCapacity must be at most MaxSize (MinSize ≤ DesiredCapacity ≤ MaxSize)",
    );
  }

  /** `<app>-<env>`, the prefix of every resource name the stack sets. */
  public get prefix(): string {
    return Fn.join("-", [this.appName.valueAsString, this.envName.valueAsString]);
  }

  /** `/<app>/<env>`, the path of log groups and SSM parameters (contract: `/<app>/<env>/…`). */
  public get path(): string {
    return Fn.join("", ["/", this.appName.valueAsString, "/", this.envName.valueAsString]);
  }
}
