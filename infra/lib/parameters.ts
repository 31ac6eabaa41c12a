import { CfnCondition, CfnParameter, CfnRule, Fn, type Stack } from "aws-cdk-lib";

/**
 * The stack's CloudFormation parameters, so that one committed template serves every account
 * and the CloudFormation console shows a form (grouped and labelled, as the original's
 * `AWS::CloudFormation::Interface` metadata did). Parameters live directly on the stack so their
 * logical ids are the plain names below: the deploy CLI and `parameters.example.json` use them.
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

/** Parameter groups shown by the console, in order; each key is a parameter name below. */
const GROUPS: ReadonlyArray<{ readonly label: string; readonly parameters: readonly string[] }> = [
  { label: "Naming", parameters: ["AppName", "EnvName"] },
  { label: "Operator", parameters: ["OperatorEmail"] },
  {
    label: "Source (GitHub through CodeConnections)",
    parameters: ["ConnectionArn", "RepositoryOwner", "RepositoryName", "BranchName"],
  },
  {
    label: "Fleet",
    parameters: [
      "InstanceType",
      "LatestAmiId",
      "MinSize",
      "DesiredCapacity",
      "MaxSize",
      "InstanceSubnets",
    ],
  },
  { label: "Entry point (CloudFront)", parameters: ["DomainNames", "CertificateArn", "WebAclArn"] },
  {
    label: "Cache (anti-forgery key ring)",
    parameters: ["CacheEngine", "CacheNodeType", "CacheNodeCount"],
  },
  {
    label: "Users table",
    parameters: [
      "TableBillingMode",
      "TableReadCapacity",
      "TableWriteCapacity",
      "TableDeletionProtection",
    ],
  },
  { label: "Delivery", parameters: ["DeploymentStrategy"] },
  { label: "Monitoring", parameters: ["LogRetentionDays"] },
];

const LABELS: Readonly<Record<string, string>> = {
  AppName: "Application name",
  EnvName: "Environment name",
  OperatorEmail: "Operator e-mail (alarms, scaling events)",
  ConnectionArn: "CodeConnections connection ARN",
  RepositoryOwner: "GitHub owner (user or organisation)",
  RepositoryName: "GitHub repository",
  BranchName: "Branch to deploy",
  InstanceType: "Instance type",
  LatestAmiId: "AMI (SSM public parameter)",
  MinSize: "Minimum instances",
  DesiredCapacity: "Desired instances",
  MaxSize: "Maximum instances",
  InstanceSubnets: "Instance subnets",
  DomainNames: "Custom domain names (optional)",
  CertificateArn: "ACM certificate ARN in us-east-1 (with domain names)",
  WebAclArn: "WAF web ACL ARN (optional)",
  CacheEngine: "Cache engine",
  CacheNodeType: "Cache node type",
  CacheNodeCount: "Cache nodes",
  TableBillingMode: "Billing mode",
  TableReadCapacity: "Read capacity units (provisioned only)",
  TableWriteCapacity: "Write capacity units (provisioned only)",
  TableDeletionProtection: "Deletion protection",
  DeploymentStrategy: "Deployment strategy",
  LogRetentionDays: "Log retention (days)",
};

/** Every parameter and the conditions derived from them, as tokens for the constructs. */
export class StackParameters {
  public readonly appName: CfnParameter;
  public readonly envName: CfnParameter;
  public readonly operatorEmail: CfnParameter;
  public readonly connectionArn: CfnParameter;
  public readonly repositoryOwner: CfnParameter;
  public readonly repositoryName: CfnParameter;
  public readonly branchName: CfnParameter;
  public readonly instanceType: CfnParameter;
  public readonly latestAmiId: CfnParameter;
  public readonly minSize: CfnParameter;
  public readonly desiredCapacity: CfnParameter;
  public readonly maxSize: CfnParameter;
  public readonly instanceSubnets: CfnParameter;
  public readonly domainNames: CfnParameter;
  public readonly certificateArn: CfnParameter;
  public readonly webAclArn: CfnParameter;
  public readonly cacheEngine: CfnParameter;
  public readonly cacheNodeType: CfnParameter;
  public readonly cacheNodeCount: CfnParameter;
  public readonly tableBillingMode: CfnParameter;
  public readonly tableReadCapacity: CfnParameter;
  public readonly tableWriteCapacity: CfnParameter;
  public readonly tableDeletionProtection: CfnParameter;
  public readonly deploymentStrategy: CfnParameter;
  public readonly logRetentionDays: CfnParameter;

  /** True when instances run in private subnets behind a NAT gateway. */
  public readonly privateInstances: CfnCondition;
  /** True when aliases (and their certificate) were given: CloudFront serves them. */
  public readonly customDomain: CfnCondition;
  /** True when a web ACL ARN was given. */
  public readonly webAclEnabled: CfnCondition;
  /** True when the table is provisioned (RCU/WCU apply). */
  public readonly provisionedTable: CfnCondition;
  /** True when the cache has replicas (automatic failover and Multi-AZ need two nodes). */
  public readonly cacheReplicated: CfnCondition;

  constructor(stack: Stack) {
    this.appName = new CfnParameter(stack, "AppName", {
      type: "String",
      default: "fleetline",
      // Lower case because it becomes part of the cache's replication group id and bucket-safe names.
      allowedPattern: "^[a-z][a-z0-9]{1,14}$",
      constraintDescription: "2 to 15 lower-case letters or digits, starting with a letter",
      description: "Prefix of resource names, log groups and the /<app>/<env>/ parameter path.",
    });
    this.envName = new CfnParameter(stack, "EnvName", {
      type: "String",
      default: "prod",
      allowedPattern: "^[a-z][a-z0-9]{0,9}$",
      constraintDescription: "1 to 10 lower-case letters or digits, starting with a letter",
      description: "Environment name (prod, staging…), second part of resource names.",
    });
    this.operatorEmail = new CfnParameter(stack, "OperatorEmail", {
      type: "String",
      allowedPattern: "^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$",
      constraintDescription: "an e-mail address such as ops@example.com",
      description:
        "Receives alarms and instance launch/termination notices (confirm the SNS subscription e-mail).",
    });
    this.connectionArn = new CfnParameter(stack, "ConnectionArn", {
      type: "String",
      allowedPattern:
        "^arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]+:[0-9]{12}:connection/[0-9a-f-]{36}$",
      constraintDescription:
        "a connection ARN such as arn:aws:codeconnections:us-east-1:123456789012:connection/<uuid>",
      description:
        "GitHub connection created once in the console (Developer Tools > Settings > Connections), status Available.",
    });
    this.repositoryOwner = new CfnParameter(stack, "RepositoryOwner", {
      type: "String",
      allowedPattern: "^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$",
      constraintDescription: "a GitHub user or organisation name",
      description: "GitHub user or organisation that owns the repository.",
    });
    this.repositoryName = new CfnParameter(stack, "RepositoryName", {
      type: "String",
      default: "fleetline",
      allowedPattern: "^[A-Za-z0-9._-]{1,100}$",
      constraintDescription: "a GitHub repository name (letters, digits, '.', '_', '-')",
      description: "Repository holding buildspec.yml at its root.",
    });
    this.branchName = new CfnParameter(stack, "BranchName", {
      type: "String",
      default: "main",
      allowedPattern: "^[A-Za-z0-9._/-]{1,200}$",
      constraintDescription: "a git branch name",
      description: "Each push to this branch runs the pipeline.",
    });
    this.instanceType = new CfnParameter(stack, "InstanceType", {
      type: "String",
      default: "t4g.micro",
      allowedValues: [...INSTANCE_TYPES],
      description: "Graviton (arm64) instance type of the web fleet.",
    });
    this.latestAmiId = new CfnParameter(stack, "LatestAmiId", {
      type: "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>",
      default: "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64",
      description:
        "Public SSM parameter of the Amazon Linux 2023 arm64 image; resolved at each stack update.",
    });
    this.minSize = new CfnParameter(stack, "MinSize", {
      type: "Number",
      default: 2,
      minValue: FLEET_SIZE_MIN,
      maxValue: FLEET_SIZE_MAX,
      description: "Never fewer instances than this (2 keeps one per Availability Zone).",
    });
    this.desiredCapacity = new CfnParameter(stack, "DesiredCapacity", {
      type: "Number",
      default: 2,
      minValue: FLEET_SIZE_MIN,
      maxValue: FLEET_SIZE_MAX,
      description: "Instances at creation; target tracking on CPU moves it between min and max.",
    });
    this.maxSize = new CfnParameter(stack, "MaxSize", {
      type: "Number",
      default: 4,
      minValue: FLEET_SIZE_MIN,
      maxValue: FLEET_SIZE_MAX,
      description: "Never more instances than this.",
    });
    this.instanceSubnets = new CfnParameter(stack, "InstanceSubnets", {
      type: "String",
      default: "public",
      allowedValues: ["public", "private"],
      description:
        "public: instances get public addresses (no NAT cost, no inbound rule but the ALB's). private: instances behind one NAT gateway (about 37 USD/month more in us-east-1).",
    });
    this.domainNames = new CfnParameter(stack, "DomainNames", {
      type: "String",
      default: "",
      allowedPattern: "^$|^([a-z0-9-]+\\.)+[a-z]{2,}(,([a-z0-9-]+\\.)+[a-z]{2,})*$",
      constraintDescription: "empty, or host names separated by commas, e.g. users.example.com",
      description:
        "Leave empty to use the distribution's own https://<id>.cloudfront.net. Otherwise your names (comma separated), covered by the certificate below; point them at the distribution (CNAME or Route 53 alias).",
    });
    this.certificateArn = new CfnParameter(stack, "CertificateArn", {
      type: "String",
      default: "",
      // CloudFront takes certificates from us-east-1 only, whatever the stack's region.
      allowedPattern: "^$|^arn:aws[a-z-]*:acm:us-east-1:[0-9]{12}:certificate/[0-9a-f-]{36}$",
      constraintDescription:
        "empty, or an ACM certificate ARN in us-east-1 such as arn:aws:acm:us-east-1:123456789012:certificate/<uuid>",
      description:
        "With DomainNames: an ACM certificate in us-east-1 (CloudFront's region) covering them. Empty with DomainNames empty.",
    });
    this.webAclArn = new CfnParameter(stack, "WebAclArn", {
      type: "String",
      default: "",
      allowedPattern: "^$|^arn:aws[a-z-]*:wafv2:us-east-1:[0-9]{12}:global/webacl/.+$",
      constraintDescription:
        "empty, or the ARN of a CLOUDFRONT-scope web ACL (created in us-east-1, e.g. from cloudformation/edge-waf.template.json)",
      description:
        "Optional AWS WAF web ACL for the distribution (costs extra; see the README). Empty: none.",
    });
    this.cacheEngine = new CfnParameter(stack, "CacheEngine", {
      type: "String",
      default: "valkey",
      allowedValues: ["valkey", "redis"],
      description: "Valkey is cheaper than Redis OSS and speaks the same protocol.",
    });
    this.cacheNodeType = new CfnParameter(stack, "CacheNodeType", {
      type: "String",
      default: "cache.t4g.micro",
      allowedValues: [...CACHE_NODE_TYPES],
      description: "ElastiCache node type (T2 nodes can no longer be created).",
    });
    this.cacheNodeCount = new CfnParameter(stack, "CacheNodeCount", {
      type: "Number",
      default: 1,
      minValue: 1,
      maxValue: 3,
      description:
        "1 = a single primary (the original's shape). 2 or 3 adds replicas with automatic failover across zones.",
    });
    this.tableBillingMode = new CfnParameter(stack, "TableBillingMode", {
      type: "String",
      default: "PAY_PER_REQUEST",
      allowedValues: ["PAY_PER_REQUEST", "PROVISIONED"],
      description: "On-demand by default; PROVISIONED uses the capacities below (as the original).",
    });
    this.tableReadCapacity = new CfnParameter(stack, "TableReadCapacity", {
      type: "Number",
      default: 5,
      minValue: 1,
      maxValue: 1000,
      description: "Read capacity units when provisioned.",
    });
    this.tableWriteCapacity = new CfnParameter(stack, "TableWriteCapacity", {
      type: "Number",
      default: 5,
      minValue: 1,
      maxValue: 1000,
      description: "Write capacity units when provisioned.",
    });
    this.tableDeletionProtection = new CfnParameter(stack, "TableDeletionProtection", {
      type: "String",
      default: "true",
      allowedValues: ["true", "false"],
      description:
        "Refuse DeleteTable calls. The table is retained when the stack is deleted either way.",
    });
    this.deploymentStrategy = new CfnParameter(stack, "DeploymentStrategy", {
      type: "String",
      default: "OneAtATime",
      allowedValues: ["OneAtATime", "HalfAtATime", "AllAtOnce"],
      description:
        "CodeDeploy in-place configuration. OneAtATime keeps all but one instance serving.",
    });
    this.logRetentionDays = new CfnParameter(stack, "LogRetentionDays", {
      type: "Number",
      // A string, like the allowed values: CloudFormation compares parameter values as strings,
      // and cfn-lint (E2015) rejects a number default among string AllowedValues.
      default: "30",
      allowedValues: [...LOG_RETENTION_DAYS],
      description:
        "Retention of every log group of the stack (web, deployments, system, build, flow logs).",
    });

    this.privateInstances = new CfnCondition(stack, "PrivateInstances", {
      expression: Fn.conditionEquals(this.instanceSubnets.valueAsString, "private"),
    });
    // Both, as the DomainNamesWithCertificate rule requires: stated here too so that the
    // condition alone shows the certificate is non-empty wherever it is used.
    this.customDomain = new CfnCondition(stack, "CustomDomain", {
      expression: Fn.conditionAnd(
        Fn.conditionNot(Fn.conditionEquals(this.domainNames.valueAsString, "")),
        Fn.conditionNot(Fn.conditionEquals(this.certificateArn.valueAsString, "")),
      ),
    });
    this.webAclEnabled = new CfnCondition(stack, "WebAclEnabled", {
      expression: Fn.conditionNot(Fn.conditionEquals(this.webAclArn.valueAsString, "")),
    });
    this.provisionedTable = new CfnCondition(stack, "ProvisionedTable", {
      expression: Fn.conditionEquals(this.tableBillingMode.valueAsString, "PROVISIONED"),
    });
    this.cacheReplicated = new CfnCondition(stack, "CacheReplicated", {
      expression: Fn.conditionNot(Fn.conditionEquals(this.cacheNodeCount.valueAsString, "1")),
    });

    this.addFleetSizeRules(stack);
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

    stack.templateOptions.metadata = {
      "AWS::CloudFormation::Interface": {
        ParameterGroups: GROUPS.map((g) => ({
          Label: { default: g.label },
          Parameters: [...g.parameters],
        })),
        ParameterLabels: Object.fromEntries(
          Object.entries(LABELS).map(([name, label]) => [name, { default: label }]),
        ),
      },
    };
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
