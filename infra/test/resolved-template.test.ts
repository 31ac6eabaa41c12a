import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DEFAULT_STACK_ID } from "../lib/app.js";
import { FLEET_SIZE_MAX, FLEET_SIZE_MIN } from "../lib/parameters.js";
import { checkParameters } from "../scripts/parameter-file.js";
import { type ResolvedStack, StackRefused, stringsIn } from "./support/cloudformation.js";
import {
  deployments,
  exampleParameters,
  onlyResource,
  resolve,
  template,
  userDataOf,
  variantParameters,
} from "./support/stacks.js";

const REGION =
  /\b(?:af|ap|ca|cn|eu|il|me|mx|sa|us(?:-gov)?)-(?:north|south|east|west|central)(?:east|west)?-\d\b/g;
const ACCOUNT = /(?<![0-9])[0-9]{12}(?![0-9])/g;
const PARTITION = /\barn:([a-z-]+):/g;

/**
 * Strings that name the synth-time stack, or a region, account or partition other than the
 * deployed one. Values the user typed (a connection ARN may live in another region) are cut out
 * first; the ELB log-delivery accounts are AWS's own, looked up by region from the template.
 */
function synthTimeLiterals(stack: ResolvedStack): string[] {
  const { region, accountId, partition } = stack.context;
  const typed = Object.values(stack.parameters)
    .flat()
    .filter((v) => v.startsWith("arn:"))
    .sort((a, b) => b.length - a.length);
  const elbAccounts = new Set(
    Object.values(template.Mappings ?? {}).flatMap((map) =>
      Object.values(map[region] ?? {}).map(String),
    ),
  );
  const found: string[] = [];
  const values = [
    ...Object.entries(stack.resources).flatMap(([id, r]) =>
      stringsIn(r.properties, `Resources.${id}`),
    ),
    ...stringsIn(stack.outputs, "Outputs"),
    { path: "UserData", value: userDataOf(stack) },
  ];
  for (const { path, value } of values) {
    let text = value;
    for (const v of typed) text = text.split(v).join("«parameter»");
    if (text.includes(DEFAULT_STACK_ID))
      found.push(`${path}: synth-time stack id in ${text.slice(0, 120)}`);
    for (const [m] of text.matchAll(REGION)) {
      // CloudFront is global: it publishes its metrics in us-east-1 whatever the stack's region.
      const cloudFrontMetrics = m === "us-east-1" && text.includes('"AWS/CloudFront"');
      if (m !== region && !cloudFrontMetrics) {
        found.push(`${path}: region ${m} in a stack deployed to ${region}`);
      }
    }
    for (const [m] of text.matchAll(ACCOUNT)) {
      if (m !== accountId && !elbAccounts.has(m)) found.push(`${path}: account ${m}`);
    }
    for (const m of text.matchAll(PARTITION)) {
      if (m[1] !== partition) found.push(`${path}: partition ${m[1]} in ${partition}`);
    }
  }
  return found;
}

/** The stack `fleetline-prod` in eu-west-3 with the example parameter file. */
const exampleStack = (): ResolvedStack =>
  resolve({
    stackName: "fleetline-prod",
    region: "eu-west-3",
    accountId: "111122223333",
    parameters: exampleParameters,
  });

describe("the template as CloudFormation resolves it", () => {
  const all = deployments();

  test("resolves whole for two stack names, two regions and two parameter sets", () => {
    assert.equal(all.length, 8);
    for (const { label, stack } of all) {
      assert.ok(Object.keys(stack.resources).length > 60, label);
    }
  });

  test("no synth-time stack name, region, account or partition stands where a deploy-time value belongs", () => {
    for (const { label, stack } of all) {
      assert.deepEqual(synthTimeLiterals(stack), [], label);
    }
  });

  test("the literal scan finds a synth-time stack name, region and account when one is planted", () => {
    const stack = all[0]!.stack;
    const planted: ResolvedStack = {
      ...stack,
      outputs: {
        ...stack.outputs,
        Planted: `--stack ${DEFAULT_STACK_ID} --region ap-south-1 arn:aws-cn:s3:::x 999988887777`,
      },
    };
    assert.deepEqual(
      synthTimeLiterals(planted).map((f) => f.split(": ")[1]!.split(" ")[0]),
      ["synth-time", "region", "account", "partition"],
    );
  });

  test("names follow the stack and the parameters, so two stacks in one account do not collide", () => {
    const byName = (stackName: string, parameters: Record<string, string>) =>
      resolve({ stackName, region: "eu-west-3", accountId: "111122223333", parameters });
    const a = byName("fleetline-prod", exampleParameters);
    const b = byName("shop-staging", variantParameters("111122223333"));
    // Operators are users of their own pool: the same e-mail in two pools is no collision.
    const typed = new Set(Object.values(exampleParameters));
    const names = (s: ResolvedStack) =>
      new Set(
        Object.values(s.resources)
          .map((r) => r.ref)
          .filter((ref) => !/^[a-z]+-[0-9a-f]{17}$/.test(ref) && !typed.has(ref)),
      );
    const shared = [...names(a)].filter((n) => names(b).has(n));
    assert.deepEqual(shared, []);
  });

  test("the variant parameters switch every condition on and reach the resources", () => {
    const stack = resolve({
      stackName: "shop-staging",
      region: "us-west-2",
      accountId: "444455556666",
      parameters: variantParameters("444455556666"),
    });
    assert.deepEqual(
      Object.entries(stack.conditions).filter(([name]) => !name.startsWith("AccessLogs")),
      [
        ["PrivateInstances", true],
        ["CustomDomain", true],
        ["WebAclEnabled", true],
        ["ProvisionedTable", true],
        ["CacheReplicated", true],
      ],
    );
    const [, group] = onlyResource(stack, "AWS::AutoScaling::AutoScalingGroup");
    const appSubnets = Object.entries(stack.resources)
      .filter(([id, r]) => r.type === "AWS::EC2::Subnet" && id.includes("App"))
      .map(([, r]) => r.ref);
    assert.deepEqual(group.properties.VPCZoneIdentifier, appSubnets);
    assert.equal(group.properties.MinSize, "3");
    assert.equal(group.properties.MaxSize, "6");
    const [, cache] = onlyResource(stack, "AWS::ElastiCache::ReplicationGroup");
    assert.equal(cache.properties.NumCacheClusters, "3");
    assert.equal(cache.properties.AutomaticFailoverEnabled, true);
    const [, table] = onlyResource(stack, "AWS::DynamoDB::Table");
    assert.deepEqual(table.properties.ProvisionedThroughput, {
      ReadCapacityUnits: "7",
      WriteCapacityUnits: "3",
    });
    const variant = variantParameters("444455556666");
    const [, distribution] = onlyResource(stack, "AWS::CloudFront::Distribution");
    const config = distribution.properties.DistributionConfig as Record<string, unknown>;
    assert.deepEqual(config.Aliases, variant.DomainNames!.split(","));
    assert.deepEqual(config.ViewerCertificate, {
      AcmCertificateArn: variant.CertificateArn,
      SslSupportMethod: "sni-only",
      MinimumProtocolVersion: "TLSv1.2_2021",
    });
    assert.equal(config.WebACLId, variant.WebAclArn);
    assert.equal(stack.outputs.SiteUrl, "https://users.example.com");
    // The callbacks Cognito accepts: the custom domain and the distribution's own name.
    const [, client] = onlyResource(stack, "AWS::Cognito::UserPoolClient");
    const domain = stack.getAtt(
      onlyResource(stack, "AWS::CloudFront::Distribution")[0],
      "DomainName",
    );
    assert.deepEqual(client.properties.CallbackURLs, [
      "https://users.example.com/auth/callback",
      `https://${domain}/auth/callback`,
    ]);
  });

  test("the example parameters: no NAT gateway, the distribution's own name and certificate", () => {
    const stack = exampleStack();
    const types = Object.values(stack.resources).map((r) => r.type);
    assert.ok(!types.includes("AWS::EC2::NatGateway"));
    const [id, distribution] = onlyResource(stack, "AWS::CloudFront::Distribution");
    const config = distribution.properties.DistributionConfig as Record<string, unknown>;
    assert.equal(config.Aliases, undefined);
    assert.deepEqual(config.ViewerCertificate, { CloudFrontDefaultCertificate: true });
    assert.equal(config.WebACLId, undefined);
    assert.equal(stack.outputs.SiteUrl, `https://${stack.getAtt(id, "DomainName")}`);
    const [, client] = onlyResource(stack, "AWS::Cognito::UserPoolClient");
    assert.deepEqual(client.properties.CallbackURLs, [`${stack.outputs.SiteUrl}/auth/callback`]);
  });

  test("alarms and dashboard read the load balancer's metrics of this stack's ALB and target group", () => {
    const stack = exampleStack();
    const loadBalancer = stack.getAtt(
      onlyResource(stack, "AWS::ElasticLoadBalancingV2::LoadBalancer")[0],
      "LoadBalancerFullName",
    );
    const targetGroup = stack.getAtt(
      onlyResource(stack, "AWS::ElasticLoadBalancingV2::TargetGroup")[0],
      "TargetGroupFullName",
    );
    // The ALB's own 5xx is per load balancer; everything about the targets is per target group
    // of that load balancer (CloudWatch keys a metric by all of its dimensions).
    const expected = (metricName: string): Record<string, unknown> =>
      metricName.startsWith("HTTPCode_ELB_")
        ? { LoadBalancer: loadBalancer }
        : { LoadBalancer: loadBalancer, TargetGroup: targetGroup };
    type Dimension = { Name: string; Value: unknown };
    const byName = (dimensions: Dimension[]) =>
      Object.fromEntries(dimensions.map((d) => [d.Name, d.Value]));

    const alarmMetrics: string[] = [];
    for (const [, alarm] of Object.entries(stack.resources).filter(
      ([, r]) => r.type === "AWS::CloudWatch::Alarm",
    )) {
      const props = alarm.properties as {
        Namespace?: string;
        MetricName?: string;
        Dimensions?: Dimension[];
        Metrics?: Array<{
          MetricStat?: {
            Metric: { Namespace: string; MetricName: string; Dimensions: Dimension[] };
          };
        }>;
      };
      const metrics = props.Metrics
        ? props.Metrics.flatMap((m) => (m.MetricStat ? [m.MetricStat.Metric] : []))
        : [
            {
              Namespace: props.Namespace,
              MetricName: props.MetricName,
              Dimensions: props.Dimensions,
            },
          ];
      for (const m of metrics.filter((m) => m.Namespace === "AWS/ApplicationELB")) {
        alarmMetrics.push(m.MetricName!);
        assert.deepEqual(byName(m.Dimensions!), expected(m.MetricName!), m.MetricName);
      }
    }
    assert.deepEqual(alarmMetrics.sort(), [
      "HTTPCode_ELB_5XX_Count",
      "HTTPCode_Target_5XX_Count",
      "TargetResponseTime",
      "UnHealthyHostCount",
    ]);

    // Dashboard metrics: [namespace, name, dimension, value, dimension, value, …, options?].
    const [, dashboard] = onlyResource(stack, "AWS::CloudWatch::Dashboard");
    const body = JSON.parse(dashboard.properties.DashboardBody as string) as {
      widgets: Array<{ properties: { metrics?: unknown[][] } }>;
    };
    const dashboardMetrics: string[] = [];
    for (const metric of body.widgets.flatMap((w) => w.properties.metrics ?? [])) {
      if (metric[0] !== "AWS/ApplicationELB") continue;
      const pairs = metric.slice(2).filter((x) => typeof x === "string") as string[];
      const dimensions: Record<string, unknown> = {};
      for (let i = 0; i < pairs.length; i += 2) dimensions[pairs[i]!] = pairs[i + 1];
      dashboardMetrics.push(metric[1] as string);
      assert.deepEqual(dimensions, expected(metric[1] as string), `dashboard ${metric[1]}`);
    }
    assert.deepEqual(dashboardMetrics.sort(), [
      "HTTPCode_ELB_5XX_Count",
      "HTTPCode_Target_5XX_Count",
      "HealthyHostCount",
      "RequestCount",
      "TargetResponseTime",
      "TargetResponseTime",
      "UnHealthyHostCount",
    ]);
  });
});

describe("parameters", () => {
  test("every default is one of its AllowedValues, with the same JSON type", () => {
    for (const [name, p] of Object.entries(template.Parameters ?? {})) {
      if (p.AllowedValues === undefined || p.Default === undefined) continue;
      assert.ok(
        p.AllowedValues.some((v) => v === p.Default),
        `${name}: default ${JSON.stringify(p.Default)} is not in ${JSON.stringify(p.AllowedValues)}`,
      );
    }
  });

  test("the defaults and the example file pass every parameter constraint and rule", () => {
    // resolve() throws StackRefused on a constraint or rule CloudFormation would refuse.
    resolve({
      stackName: "s",
      region: "eu-west-3",
      accountId: "111122223333",
      parameters: exampleParameters,
    });
  });

  test("the template's Rules refuse exactly the fleet sizes the deploy CLI refuses", () => {
    const sizes = [FLEET_SIZE_MIN, FLEET_SIZE_MIN + 1, 3, 4, FLEET_SIZE_MAX - 1, FLEET_SIZE_MAX];
    let refused = 0;
    for (const min of sizes) {
      for (const desired of sizes) {
        for (const max of sizes) {
          const values = { MinSize: `${min}`, DesiredCapacity: `${desired}`, MaxSize: `${max}` };
          const entries = Object.entries({ ...exampleParameters, ...values }).map(
            ([key, value]) => ({ key, value }),
          );
          const cli = checkParameters(entries, template.Parameters ?? {}).errors;
          let cloudFormation: string | undefined;
          try {
            resolve({
              stackName: "s",
              region: "eu-west-3",
              accountId: "111122223333",
              parameters: { ...exampleParameters, ...values },
            });
          } catch (error) {
            if (!(error instanceof StackRefused)) throw error;
            cloudFormation = error.message;
          }
          const label = `MinSize ${min}, DesiredCapacity ${desired}, MaxSize ${max}`;
          assert.equal(
            cloudFormation !== undefined,
            cli.length > 0,
            `${label}: CLI ${cli.join("; ")} / CloudFormation ${cloudFormation}`,
          );
          if (cloudFormation) {
            refused++;
            assert.match(cloudFormation, /^Rules\.\w+: (MaxSize|DesiredCapacity) must be/);
          }
        }
      }
    }
    assert.ok(refused > 100, `${refused} of ${sizes.length ** 3} combinations refused`);
  });
});
