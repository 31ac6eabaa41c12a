import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { Match, Template } from "aws-cdk-lib/assertions";
import { synthesizeTemplate } from "../lib/app.js";
import { WEB_TABLE_ACTIONS } from "../lib/instance-policy.js";

// One synthesis for the file, with cdk-nag (throws on any unacknowledged finding); the schema
// validation runs in template.test.ts.
const outdir = mkdtempSync(join(tmpdir(), "fleetline-stack-"));
after(() => rmSync(outdir, { recursive: true, force: true }));
const json = JSON.parse(
  synthesizeTemplate({ outdir, cloudFormationValidation: false }),
) as CfnTemplate;
const template = Template.fromJSON(json);

interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
  Condition?: string;
}
interface CfnTemplate {
  Parameters: Record<string, unknown>;
  Resources: Record<string, CfnResource>;
  Outputs: Record<string, unknown>;
  Metadata: Record<string, unknown>;
  Rules?: Record<string, unknown>;
}

function resourcesOfType(type: string): Array<[string, CfnResource]> {
  return Object.entries(json.Resources).filter(([, r]) => r.Type === type);
}

function onlyOne(type: string): [string, CfnResource] {
  const found = resourcesOfType(type);
  assert.equal(found.length, 1, `expected exactly one ${type}`);
  return found[0]!;
}

/** Logical id of the security group whose description starts with `prefix`. */
function securityGroupId(prefix: string): string {
  const found = resourcesOfType("AWS::EC2::SecurityGroup").filter(([, r]) =>
    String(r.Properties?.GroupDescription).startsWith(prefix),
  );
  assert.equal(found.length, 1, `security group "${prefix}…"`);
  return found[0]![0];
}

/** Logical id of the security group an AWS::EC2::SecurityGroupIngress belongs to. */
function ingressGroup(ingress: CfnResource): string {
  return (ingress.Properties!.GroupId as { "Fn::GetAtt": string[] })["Fn::GetAtt"][0]!;
}

/** Every literal string in a (resolved) CloudFormation value: Fn::Join parts included. */
function strings(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value && typeof value === "object") return Object.values(value).flatMap(strings);
  return [];
}

describe("fleet", () => {
  test("uses a launch template, never a launch configuration", () => {
    template.resourceCountIs("AWS::AutoScaling::LaunchConfiguration", 0);
    template.hasResourceProperties("AWS::AutoScaling::AutoScalingGroup", {
      LaunchTemplate: Match.objectLike({ LaunchTemplateId: Match.anyValue() }),
    });
  });

  test("requires IMDSv2 with a hop limit of 1, encrypted gp3 root, no key pair", () => {
    const [, lt] = onlyOne("AWS::EC2::LaunchTemplate");
    const data = lt.Properties?.LaunchTemplateData as Record<string, unknown>;
    assert.deepEqual(data.MetadataOptions, { HttpPutResponseHopLimit: 1, HttpTokens: "required" });
    assert.equal(data.KeyName, undefined);
    assert.deepEqual(data.BlockDeviceMappings, [
      {
        DeviceName: "/dev/xvda",
        Ebs: { DeleteOnTermination: true, Encrypted: true, VolumeSize: 8, VolumeType: "gp3" },
      },
    ]);
    assert.deepEqual(data.ImageId, { Ref: "LatestAmiId" });
    assert.deepEqual(data.InstanceType, { Ref: "InstanceType" });
  });

  test("Auto Scaling group: sizes from parameters, ELB health checks, rolling updates with signals", () => {
    const [, asg] = onlyOne("AWS::AutoScaling::AutoScalingGroup");
    const p = asg.Properties!;
    assert.deepEqual(p.MinSize, { Ref: "MinSize" });
    assert.deepEqual(p.MaxSize, { Ref: "MaxSize" });
    assert.deepEqual(p.DesiredCapacity, { Ref: "DesiredCapacity" });
    assert.equal(p.HealthCheckType, "ELB");
    assert.equal((p.VPCZoneIdentifier as unknown[]).length, 2, "two Availability Zones");
    template.hasResource("AWS::AutoScaling::AutoScalingGroup", {
      CreationPolicy: { ResourceSignal: Match.objectLike({ Timeout: "PT20M" }) },
      UpdatePolicy: {
        AutoScalingRollingUpdate: Match.objectLike({
          MaxBatchSize: 1,
          WaitOnResourceSignals: true,
          MinInstancesInService: { Ref: "MinSize" },
        }),
        AutoScalingScheduledAction: Match.anyValue(),
      },
    });
    template.hasResourceProperties("AWS::AutoScaling::AutoScalingGroup", {
      NotificationConfigurations: [
        Match.objectLike({
          NotificationTypes: Match.arrayWith([
            "autoscaling:EC2_INSTANCE_LAUNCH",
            "autoscaling:EC2_INSTANCE_TERMINATE",
          ]),
        }),
      ],
    });
    template.hasResourceProperties("AWS::AutoScaling::ScalingPolicy", {
      PolicyType: "TargetTrackingScaling",
      TargetTrackingConfiguration: Match.objectLike({ TargetValue: 50 }),
    });
  });

  test("instances go to public or private subnets by parameter, with a NAT gateway only when private", () => {
    const [, asg] = onlyOne("AWS::AutoScaling::AutoScalingGroup");
    for (const subnet of asg.Properties!.VPCZoneIdentifier as unknown[]) {
      assert.equal((subnet as Record<string, unknown[]>)["Fn::If"]?.[0], "PrivateInstances");
    }
    const [, nat] = onlyOne("AWS::EC2::NatGateway");
    assert.equal(nat.Condition, "PrivateInstances");
  });

  test("user data writes the contract's environment file and signals the group", () => {
    const [asgId] = onlyOne("AWS::AutoScaling::AutoScalingGroup");
    const [, lt] = onlyOne("AWS::EC2::LaunchTemplate");
    const text = strings(
      (lt.Properties!.LaunchTemplateData as Record<string, unknown>).UserData,
    ).join("");
    for (const line of [
      "NODE_ENV=production",
      "HOST=127.0.0.1",
      "PORT=5000",
      "AWS_REGION=$FL_REGION",
      "USERS_TABLE=$FL_USERS_TABLE",
      "KEYRING_STORE=redis",
      "REDIS_ADDRESS_PARAMETER=$FL_CACHE_ADDRESS_PARAMETER",
      "REDIS_TLS=true",
      "REDIS_AUTH_SECRET_ID=$FL_CACHE_AUTH_SECRET_ARN",
      "TRUST_PROXY=127.0.0.1,$FL_VPC_CIDR",
      "LOG_DIR=/var/log/fleetline",
    ]) {
      assert.ok(text.includes(`\n${line}\n`), `env file line ${line}`);
    }
    assert.ok(text.includes(`FL_RESOURCE='${asgId}'`), "cfn-signal targets the group");
    assert.ok(text.includes("dnf install -y nodejs24 nginx rsyslog ruby"), "packages");
    assert.ok(text.includes("chmod 0640"), "env file mode");
    assert.ok(
      text.includes(
        ["aws-codedeploy-", ".s3.", ".amazonaws.com/latest/install"].join("$" + "{FL_REGION}"),
      ),
    );
    assert.ok(text.includes("listen 80 default_server"), "placeholder answers on :80");
    assert.ok(text.includes("location = /health"), "placeholder health");
  });
});

describe("network exposure", () => {
  test("nothing accepts traffic from the internet; the ALB only from its own subnets; no SSH", () => {
    const lb = securityGroupId("Internal load balancer");
    const rules: Array<[string, Record<string, unknown>]> = [];
    for (const [id, sg] of resourcesOfType("AWS::EC2::SecurityGroup")) {
      for (const rule of (sg.Properties?.SecurityGroupIngress as Record<string, unknown>[]) ?? []) {
        rules.push([id, rule]);
      }
    }
    for (const [, ingress] of resourcesOfType("AWS::EC2::SecurityGroupIngress")) {
      rules.push([ingressGroup(ingress), ingress.Properties!]);
    }
    for (const [group, rule] of rules) {
      assert.ok(
        !(Number(rule.FromPort) <= 22 && Number(rule.ToPort) >= 22),
        `port 22 open on ${group}`,
      );
      assert.ok(
        rule.CidrIp !== "0.0.0.0/0" && rule.CidrIpv6 !== "::/0",
        `${group} open to the internet`,
      );
    }
    // The VPC origin's interfaces sit in the ALB's subnets: the App subnets' ranges, port 80.
    const appCidrs = resourcesOfType("AWS::EC2::Subnet")
      .filter(([id]) => id.includes("AppSubnet"))
      .map(([, subnet]) => subnet.Properties!.CidrBlock);
    const lbRules = rules
      .filter(([group]) => group === lb)
      .map(([, r]) => [r.CidrIp, r.FromPort, r.ToPort]);
    assert.deepEqual(
      lbRules,
      appCidrs.map((cidr) => [cidr, 80, 80]),
    );
  });

  test("the fleet accepts only port 80 from the load balancer", () => {
    const fleet = securityGroupId("Web instances");
    const lb = securityGroupId("Internal load balancer");
    const ingress = resourcesOfType("AWS::EC2::SecurityGroupIngress").filter(
      ([, r]) => ingressGroup(r) === fleet,
    );
    assert.equal(ingress.length, 1);
    assert.deepEqual(ingress[0]![1].Properties, {
      Description: "Load balancer to nginx",
      FromPort: 80,
      GroupId: { "Fn::GetAtt": [fleet, "GroupId"] },
      IpProtocol: "tcp",
      SourceSecurityGroupId: { "Fn::GetAtt": [lb, "GroupId"] },
      ToPort: 80,
    });
  });
});

describe("cache", () => {
  test("TLS, AUTH from Secrets Manager, encryption at rest, Valkey by default", () => {
    const [, rg] = onlyOne("AWS::ElastiCache::ReplicationGroup");
    const p = rg.Properties!;
    assert.equal(p.TransitEncryptionEnabled, true);
    assert.equal(p.AtRestEncryptionEnabled, true);
    assert.deepEqual(p.Engine, { Ref: "CacheEngine" });
    assert.equal(p.Port, 6380);
    assert.match(
      strings(p.AuthToken).join(""),
      /^\{\{resolve:secretsmanager:.*:SecretString:::\}\}$/,
    );
    assert.deepEqual((json.Parameters.CacheEngine as { Default: string }).Default, "valkey");
  });

  test("lives in isolated subnets (no route out) and admits only the fleet", () => {
    const [, rg] = onlyOne("AWS::ElastiCache::ReplicationGroup");
    const [groupId, subnetGroup] = onlyOne("AWS::ElastiCache::SubnetGroup");
    assert.deepEqual(rg.Properties!.CacheSubnetGroupName, { Ref: groupId });
    const subnetIds = (subnetGroup.Properties!.SubnetIds as Array<{ Ref: string }>).map(
      (s) => s.Ref,
    );
    assert.equal(subnetIds.length, 2);
    for (const subnet of subnetIds) {
      assert.match(subnet, /Cache/);
      const association = resourcesOfType("AWS::EC2::SubnetRouteTableAssociation").find(
        ([, a]) => (a.Properties!.SubnetId as { Ref: string }).Ref === subnet,
      );
      const table = (association![1].Properties!.RouteTableId as { Ref: string }).Ref;
      const routes = resourcesOfType("AWS::EC2::Route").filter(
        ([, r]) => (r.Properties!.RouteTableId as { Ref: string }).Ref === table,
      );
      assert.deepEqual(routes, [], `cache subnet ${subnet} has a route out`);
    }

    const cacheSg = securityGroupId("Cache");
    const fleet = securityGroupId("Web instances");
    const [, sg] = resourcesOfType("AWS::EC2::SecurityGroup").find(([id]) => id === cacheSg)!;
    const separate = resourcesOfType("AWS::EC2::SecurityGroupIngress").filter(
      ([, r]) => ingressGroup(r) === cacheSg,
    );
    assert.deepEqual(separate, []);
    assert.deepEqual(sg.Properties!.SecurityGroupIngress, [
      {
        Description: "Web fleet to key-ring cache",
        FromPort: 6380,
        IpProtocol: "tcp",
        SourceSecurityGroupId: { "Fn::GetAtt": [fleet, "GroupId"] },
        ToPort: 6380,
      },
    ]);
    // No egress at all: the cache never opens connections.
    assert.deepEqual(sg.Properties!.SecurityGroupEgress, [
      {
        CidrIp: "255.255.255.255/32",
        Description: "Disallow all traffic",
        FromPort: 252,
        IpProtocol: "icmp",
        ToPort: 86,
      },
    ]);
  });

  test("publishes host:port under /<app>/<env>/CacheAddress", () => {
    template.hasResourceProperties("AWS::SSM::Parameter", {
      Name: {
        "Fn::Join": ["", ["/", { Ref: "AppName" }, "/", { Ref: "EnvName" }, "/CacheAddress"]],
      },
      Value: {
        "Fn::Join": [
          ":",
          [
            {
              "Fn::GetAtt": [
                Match.stringLikeRegexp("CacheReplicationGroup"),
                "PrimaryEndPoint.Address",
              ],
            },
            {
              "Fn::GetAtt": [
                Match.stringLikeRegexp("CacheReplicationGroup"),
                "PrimaryEndPoint.Port",
              ],
            },
          ],
        ],
      },
    });
  });
});

describe("table", () => {
  test("key id, point-in-time recovery, retained on delete and replace, billing by parameter", () => {
    const [, table] = onlyOne("AWS::DynamoDB::Table");
    assert.equal(table.DeletionPolicy, "Retain");
    assert.equal(table.UpdateReplacePolicy, "Retain");
    const p = table.Properties!;
    assert.deepEqual(p.KeySchema, [{ AttributeName: "id", KeyType: "HASH" }]);
    assert.deepEqual(p.PointInTimeRecoverySpecification, { PointInTimeRecoveryEnabled: true });
    assert.deepEqual(p.BillingMode, {
      "Fn::If": ["ProvisionedTable", "PROVISIONED", "PAY_PER_REQUEST"],
    });
    assert.deepEqual(p.DeletionProtectionEnabled, { Ref: "TableDeletionProtection" });
  });
});

describe("load balancer", () => {
  test("health check /health, 30 s deregistration, no stickiness", () => {
    template.hasResourceProperties("AWS::ElasticLoadBalancingV2::TargetGroup", {
      HealthCheckPath: "/health",
      Port: 80,
      TargetGroupAttributes: Match.arrayWith([
        { Key: "deregistration_delay.timeout_seconds", Value: "30" },
      ]),
    });
    const [, tg] = onlyOne("AWS::ElasticLoadBalancingV2::TargetGroup");
    const attributes = tg.Properties!.TargetGroupAttributes as Array<{
      Key: string;
      Value: string;
    }>;
    assert.ok(!attributes.some((a) => a.Key === "stickiness.enabled" && a.Value === "true"));
  });

  test("drops invalid headers and writes access logs", () => {
    template.hasResourceProperties("AWS::ElasticLoadBalancingV2::LoadBalancer", {
      Scheme: "internal",
      LoadBalancerAttributes: Match.arrayWith([
        { Key: "routing.http.drop_invalid_header_fields.enabled", Value: "true" },
        { Key: "access_logs.s3.enabled", Value: "true" },
      ]),
    });
  });

  test("access-log delivery works in old and new regions alike", () => {
    const [mappingId, mapping] = Object.entries(
      (json as unknown as { Mappings: Record<string, Record<string, { account: string }>> })
        .Mappings,
    )[0]!;
    assert.equal(mapping["us-east-1"]!.account, "127311923021", "pre-2022 region: ELB account");
    assert.equal(mapping["eu-west-3"]!.account, "009996457667");
    // Post-2022 regions are present (FindInMap is resolved even in an untaken Fn::If branch).
    for (const region of ["il-central-1", "ca-west-1", "mx-central-1", "ap-southeast-4"]) {
      assert.equal(mapping[region]?.account, "none", region);
    }
    const [, policy] = resourcesOfType("AWS::S3::BucketPolicy").find(([id]) =>
      id.startsWith("AccessLogs"),
    )!;
    const statements = (
      policy.Properties!.PolicyDocument as { Statement: Array<Record<string, unknown>> }
    ).Statement;
    const service = statements.find((st) => st.Sid === "ElbLogDeliveryService")!;
    assert.deepEqual(service.Principal, {
      Service: "logdelivery.elasticloadbalancing.amazonaws.com",
    });
    const account = JSON.stringify(
      statements.find((st) => st.Sid === "ElbLogDeliveryAccount")!.Principal,
    );
    assert.ok(account.includes(`"Fn::FindInMap":["${mappingId}",{"Ref":"AWS::Region"},"account"]`));
    assert.ok(account.includes('{"Ref":"AWS::AccountId"}'), "own account in newer regions");
  });

  test("is internal, in the App subnets, with one HTTP listener and no HTTPS one", () => {
    const [, lb] = onlyOne("AWS::ElasticLoadBalancingV2::LoadBalancer");
    const appSubnets = resourcesOfType("AWS::EC2::Subnet")
      .filter(([id]) => id.includes("AppSubnet"))
      .map(([id]) => ({ Ref: id }));
    assert.deepEqual(lb.Properties!.Subnets, appSubnets);
    const [, listener] = onlyOne("AWS::ElasticLoadBalancingV2::Listener");
    assert.equal(listener.Properties!.Port, 80);
    assert.equal(listener.Properties!.Protocol, "HTTP");
  });
});

describe("edge", () => {
  test("CloudFront redirects HTTP to HTTPS and reaches the ALB through a VPC origin", () => {
    const [, distribution] = onlyOne("AWS::CloudFront::Distribution");
    const [originId, vpcOrigin] = onlyOne("AWS::CloudFront::VpcOrigin");
    const [lbId] = onlyOne("AWS::ElasticLoadBalancingV2::LoadBalancer");
    const endpoint = vpcOrigin.Properties!.VpcOriginEndpointConfig as Record<string, unknown>;
    assert.deepEqual(endpoint.Arn, { Ref: lbId });
    assert.equal(endpoint.OriginProtocolPolicy, "http-only");
    const config = distribution.Properties!.DistributionConfig as Record<string, unknown>;
    const origin = (config.Origins as Array<Record<string, unknown>>)[0]!;
    assert.deepEqual((origin.VpcOriginConfig as { VpcOriginId: unknown }).VpcOriginId, {
      "Fn::GetAtt": [originId, "Id"],
    });
    const behavior = config.DefaultCacheBehavior as Record<string, unknown>;
    assert.equal(behavior.ViewerProtocolPolicy, "redirect-to-https");
  });

  test("the dashboard shows what viewers see at the edge (CloudFront metrics, from us-east-1)", () => {
    const [distributionId] = onlyOne("AWS::CloudFront::Distribution");
    const body = JSON.stringify(onlyOne("AWS::CloudWatch::Dashboard")[1].Properties!.DashboardBody);
    assert.match(body, /AWS\/CloudFront\\",\\"Requests\\",\\"DistributionId/);
    assert.ok(body.includes(`{"Ref":"${distributionId}"}`), "the distribution's own id");
    assert.match(body, /\\"region\\":\\"us-east-1\\"/);
  });

  test("pages are never cached, static assets are", () => {
    const config = onlyOne("AWS::CloudFront::Distribution")[1].Properties!
      .DistributionConfig as Record<string, unknown>;
    const managed = {
      disabled: "4135ea2d-6df8-44a3-9df3-4b5a84be39ad",
      optimized: "658327ea-f89d-4fab-a63d-7e88639e58f6",
    };
    assert.equal(
      (config.DefaultCacheBehavior as { CachePolicyId: string }).CachePolicyId,
      managed.disabled,
    );
    const [statics] = config.CacheBehaviors as Array<{
      PathPattern: string;
      CachePolicyId: string;
      AllowedMethods: string[];
    }>;
    assert.equal(statics!.PathPattern, "/static/*");
    assert.equal(statics!.CachePolicyId, managed.optimized);
    assert.deepEqual(statics!.AllowedMethods, ["GET", "HEAD"]);
  });

  test("a custom domain brings its aliases and us-east-1 certificate, else the default certificate", () => {
    const config = onlyOne("AWS::CloudFront::Distribution")[1].Properties!
      .DistributionConfig as Record<string, { "Fn::If": unknown[] }>;
    assert.equal(config.Aliases!["Fn::If"][0], "CustomDomain");
    assert.deepEqual(config.ViewerCertificate!["Fn::If"], [
      "CustomDomain",
      {
        AcmCertificateArn: { Ref: "CertificateArn" },
        SslSupportMethod: "sni-only",
        MinimumProtocolVersion: "TLSv1.2_2021",
      },
      { CloudFrontDefaultCertificate: true },
    ]);
    const pattern = (json.Parameters.CertificateArn as { AllowedPattern: string }).AllowedPattern;
    assert.match(pattern, /acm:us-east-1:/);
  });
});

describe("operators", () => {
  test("an invited-only user pool with TOTP required, and the operator invited by e-mail", () => {
    template.hasResourceProperties("AWS::Cognito::UserPool", {
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
      MfaConfiguration: "ON",
      EnabledMfas: ["SOFTWARE_TOKEN_MFA"],
    });
    template.hasResourceProperties("AWS::Cognito::UserPoolUser", {
      Username: { Ref: "OperatorEmail" },
      DesiredDeliveryMediums: ["EMAIL"],
    });
  });

  test("a public client: code flow only, callbacks on the site's HTTPS origins", () => {
    const [, client] = onlyOne("AWS::Cognito::UserPoolClient");
    const p = client.Properties!;
    assert.equal(p.GenerateSecret, false);
    assert.deepEqual(p.AllowedOAuthFlows, ["code"]);
    assert.equal(p.AllowedOAuthFlowsUserPoolClient, true);
    const callbacks = JSON.stringify(p.CallbackURLs);
    assert.ok(callbacks.includes("DomainName"), callbacks);
    assert.ok(callbacks.includes("/auth/callback"), callbacks);
    assert.ok(!callbacks.includes("http://"), callbacks);
  });
});

describe("delivery", () => {
  test("deployment group: in place, ALB traffic control, rollback on failure and on the 5xx alarm", () => {
    const [alarmId] = resourcesOfType("AWS::CloudWatch::Alarm").find(
      ([, a]) => strings(a.Properties!.AlarmName).at(-1) === "-5xx",
    )!;
    template.hasResourceProperties("AWS::CodeDeploy::DeploymentGroup", {
      DeploymentStyle: { DeploymentOption: "WITH_TRAFFIC_CONTROL", DeploymentType: "IN_PLACE" },
      LoadBalancerInfo: {
        TargetGroupInfoList: [{ Name: { "Fn::GetAtt": [Match.anyValue(), "TargetGroupName"] } }],
      },
      AutoRollbackConfiguration: {
        Enabled: true,
        Events: Match.arrayWith(["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]),
      },
      AlarmConfiguration: { Enabled: true, Alarms: [{ Name: { Ref: alarmId } }] },
      DeploymentConfigName: {
        "Fn::Join": ["", ["CodeDeployDefault.", { Ref: "DeploymentStrategy" }]],
      },
      AutoScalingGroups: [{ Ref: Match.anyValue() }],
    });
    assert.equal((json.Parameters.DeploymentStrategy as { Default: string }).Default, "OneAtATime");
  });

  test("pipeline source is a CodeConnections connection, triggered on push", () => {
    const [, pipeline] = onlyOne("AWS::CodePipeline::Pipeline");
    const stages = pipeline.Properties!.Stages as Array<{
      Name: string;
      Actions: Array<{
        ActionTypeId: { Provider: string };
        Configuration: Record<string, unknown>;
      }>;
    }>;
    assert.deepEqual(
      stages.map((s) => s.Name),
      ["Source", "Build", "Deploy"],
    );
    const source = stages[0]!.Actions[0]!;
    assert.equal(source.ActionTypeId.Provider, "CodeStarSourceConnection");
    assert.deepEqual(source.Configuration.ConnectionArn, { Ref: "ConnectionArn" });
    assert.deepEqual(source.Configuration.FullRepositoryId, {
      "Fn::Join": ["", [{ Ref: "RepositoryOwner" }, "/", { Ref: "RepositoryName" }]],
    });
    assert.notEqual(source.Configuration.DetectChanges, false);
    assert.equal(stages[1]!.Actions[0]!.ActionTypeId.Provider, "CodeBuild");
    assert.equal(stages[2]!.Actions[0]!.ActionTypeId.Provider, "CodeDeploy");
    template.hasResourceProperties("AWS::CodeBuild::Project", {
      Environment: Match.objectLike({
        Image: "aws/codebuild/amazonlinux-aarch64-standard:4.0",
        Type: "ARM_CONTAINER",
        ComputeType: "BUILD_GENERAL1_SMALL",
      }),
      Source: { Type: "CODEPIPELINE" },
    });
  });

  test("the source role may use the connection under both IAM prefixes, on that ARN only", () => {
    const actions = new Set<string>();
    for (const [, policy] of resourcesOfType("AWS::IAM::Policy")) {
      const doc = policy.Properties!.PolicyDocument as {
        Statement: Array<Record<string, unknown>>;
      };
      for (const s of doc.Statement) {
        const list = ([] as unknown[]).concat(s.Action);
        if (list.some((a) => String(a).endsWith(":UseConnection"))) {
          assert.deepEqual(s.Resource, { Ref: "ConnectionArn" });
          for (const a of list) actions.add(String(a));
        }
      }
    }
    assert.deepEqual([...actions].sort(), [
      "codeconnections:UseConnection",
      "codestar-connections:UseConnection",
    ]);
  });

  test("artifact bucket: encrypted, TLS only, public access blocked, old artifacts expire", () => {
    const buckets = resourcesOfType("AWS::S3::Bucket");
    assert.equal(buckets.length, 2);
    for (const [id, bucket] of buckets) {
      const p = bucket.Properties!;
      assert.deepEqual(p.PublicAccessBlockConfiguration, {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      assert.ok(p.BucketEncryption, `${id} encrypted`);
      assert.ok(
        (p.LifecycleConfiguration as { Rules: Array<{ ExpirationInDays?: number }> }).Rules.some(
          (r) => r.ExpirationInDays !== undefined,
        ),
        `${id} expires objects`,
      );
      assert.equal(bucket.DeletionPolicy, "Retain");
    }
    for (const [, policy] of resourcesOfType("AWS::S3::BucketPolicy")) {
      const doc = policy.Properties!.PolicyDocument as {
        Statement: Array<Record<string, unknown>>;
      };
      assert.ok(
        doc.Statement.some(
          (s) =>
            s.Effect === "Deny" &&
            JSON.stringify(s.Condition) ===
              JSON.stringify({ Bool: { "aws:SecureTransport": "false" } }),
        ),
        "TLS-only statement",
      );
    }
  });
});

describe("IAM", () => {
  test("the only inline statements on Resource * are the SSM agent's", () => {
    // Its registration (on * as AWS documents it) and the ssmmessages/ec2messages channel
    // actions, which define no resource type (see instance-policy.ts).
    const wildcard: string[] = [];
    for (const [id, r] of Object.entries(json.Resources)) {
      const docs: Array<{ Statement: Array<Record<string, unknown>> }> = [];
      if (r.Type === "AWS::IAM::Policy") docs.push(r.Properties!.PolicyDocument as never);
      if (r.Type === "AWS::IAM::Role") {
        for (const p of (r.Properties!.Policies as Array<{ PolicyDocument: never }>) ?? []) {
          docs.push(p.PolicyDocument);
        }
      }
      for (const doc of docs) {
        for (const s of doc.Statement) {
          if (!([] as unknown[]).concat(s.Resource).includes("*")) continue;
          for (const action of ([] as string[]).concat(s.Action as string[])) {
            if (
              !/^((ssmmessages|ec2messages):[A-Za-z]+|ssm:UpdateInstanceInformation)$/.test(action)
            ) {
              wildcard.push(`${id}: ${action}`);
            }
          }
        }
      }
    }
    assert.deepEqual(wildcard, []);
  });

  test("every role is assumable only by its service or by the pipeline's role", () => {
    const [pipelineRoleId] = resourcesOfType("AWS::IAM::Role").find(([id]) =>
      id.startsWith("DeliveryPipelineRole"),
    )!;
    for (const [id, role] of resourcesOfType("AWS::IAM::Role")) {
      const doc = role.Properties!.AssumeRolePolicyDocument as {
        Statement: Array<{ Principal: Record<string, unknown> }>;
      };
      for (const { Principal } of doc.Statement) {
        const ok =
          typeof Principal.Service === "string" ||
          JSON.stringify(Principal.AWS) ===
            JSON.stringify({ "Fn::GetAtt": [pipelineRoleId, "Arn"] });
        assert.ok(ok, `${id} trusts ${JSON.stringify(Principal)}`);
      }
    }
  });

  test("the only AWS managed policy is AWSCodeDeployRole, acknowledged beside its role", () => {
    // It carries Resource "*" inside AWS's document: CodeDeploy's service role for ASG + ELB
    // deployments (deployment.ts). The instance role has none: AmazonSSMManagedInstanceCore would
    // grant ssm:GetParameter(s) on every parameter of the account (instance-policy.ts).
    const managed = new Set<string>();
    for (const [, role] of resourcesOfType("AWS::IAM::Role")) {
      for (const arn of (role.Properties!.ManagedPolicyArns as unknown[]) ?? []) {
        managed.add(strings(arn).at(-1)!);
      }
    }
    assert.deepEqual([...managed].sort(), [":iam::aws:policy/service-role/AWSCodeDeployRole"]);
  });

  test("instance role: the web's DynamoDB actions on the Users table only, and nothing broad", () => {
    const [tableId] = onlyOne("AWS::DynamoDB::Table");
    template.hasResourceProperties("AWS::IAM::Policy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: "UsersTable",
            Action: [...WEB_TABLE_ACTIONS],
            Resource: { "Fn::GetAtt": [tableId, "Arn"] },
          }),
          Match.objectLike({ Sid: "CacheAddress", Action: "ssm:GetParameter" }),
          Match.objectLike({ Sid: "CacheAuthToken", Action: "secretsmanager:GetSecretValue" }),
          Match.objectLike({ Sid: "Revisions", Action: ["s3:GetObject", "s3:GetObjectVersion"] }),
          Match.objectLike({ Sid: "ShipLogs" }),
        ]),
      },
    });
    // The instance role has exactly its two policies (data access, SSM agent channels): the
    // CDK's CodeDeploy action grant is blocked (see fleet.ts), so no broader S3 statement appears.
    const [roleId] = resourcesOfType("AWS::IAM::Role").find(([id]) => id.startsWith("FleetRole"))!;
    const attached = resourcesOfType("AWS::IAM::Policy").filter(([, p]) =>
      (p.Properties!.Roles as Array<{ Ref: string }>).some((r) => r.Ref === roleId),
    );
    assert.deepEqual(attached.map(([id]) => id.replace(/[0-9A-F]{8}$/, "")).sort(), [
      "InstancePolicy",
      "InstancePolicySsmAgent",
    ]);
    assert.ok(!JSON.stringify(attached).includes("dynamodb:*"));
  });
});

describe("template shape", () => {
  test("no assets, no bootstrap parameter or rule, no Lambda", () => {
    assert.equal(json.Parameters.BootstrapVersion, undefined);
    // Only the fleet-size rules of parameters.ts: no CheckBootstrapVersion.
    assert.deepEqual(Object.keys(json.Rules ?? {}).sort(), [
      "DesiredCapacityAtLeastMinSize",
      "DesiredCapacityAtMostMaxSize",
      "DomainNamesWithCertificate",
      "MaxSizeAboveMinSize",
    ]);
    template.resourceCountIs("AWS::Lambda::Function", 0);
    assert.ok(!JSON.stringify(json).includes("cdk-hnb659fds"), "no bootstrap bucket reference");
  });

  test("every parameter is in exactly one console group and has a label", () => {
    const iface = json.Metadata["AWS::CloudFormation::Interface"] as {
      ParameterGroups: Array<{ Parameters: string[] }>;
      ParameterLabels: Record<string, unknown>;
    };
    const grouped = iface.ParameterGroups.flatMap((g) => g.Parameters);
    assert.deepEqual([...grouped].sort(), Object.keys(json.Parameters).sort());
    assert.equal(new Set(grouped).size, grouped.length);
    assert.deepEqual(
      Object.keys(iface.ParameterLabels).sort(),
      Object.keys(json.Parameters).sort(),
    );
  });

  test("outputs: site, sign-in, dashboard, pipeline, table, cache-address parameter", () => {
    for (const name of [
      "SiteUrl",
      "SignInUrl",
      "DistributionDomainName",
      "OperatorsUserPoolId",
      "DashboardUrl",
      "PipelineName",
      "UsersTableName",
      "CacheAddressParameterName",
    ]) {
      assert.ok(json.Outputs[name], name);
    }
  });

  test("alarms notify the operator topic: 5xx, unhealthy hosts, p99 latency, CPU", () => {
    const names = resourcesOfType("AWS::CloudWatch::Alarm").map(
      ([, a]) => strings(a.Properties!.AlarmName).at(-1)!,
    );
    assert.deepEqual(names.sort(), ["-5xx", "-cpu", "-p99-latency", "-unhealthy-hosts"].sort());
    const [topicId] = onlyOne("AWS::SNS::Topic");
    for (const [, alarm] of resourcesOfType("AWS::CloudWatch::Alarm")) {
      assert.deepEqual(alarm.Properties!.AlarmActions, [{ Ref: topicId }]);
    }
    template.hasResourceProperties("AWS::SNS::Subscription", {
      Protocol: "email",
      Endpoint: { Ref: "OperatorEmail" },
    });
  });
});
