/**
 * The stacks the tests deploy on paper: the committed template resolved for several stack names,
 * regions, accounts and parameter sets, as CloudFormation would resolve it.
 */
import { readFileSync } from "node:fs";
import {
  type CfnTemplate,
  type ResolvedStack,
  resolveStack,
  type StackContext,
} from "./cloudformation.js";

export const template = JSON.parse(
  readFileSync(new URL("../../../cloudformation/fleetline.template.json", import.meta.url), "utf8"),
) as CfnTemplate;

/** cloudformation/parameters.example.json as a name → value map. */
export const exampleParameters: Readonly<Record<string, string>> = Object.fromEntries(
  (
    JSON.parse(
      readFileSync(
        new URL("../../../cloudformation/parameters.example.json", import.meta.url),
        "utf8",
      ),
    ) as Array<{ ParameterKey: string; ParameterValue: string }>
  ).map((e) => [e.ParameterKey, e.ParameterValue]),
);

/** Everything the example leaves at its simplest, turned the other way. */
export function variantParameters(accountId: string): Record<string, string> {
  return {
    ...exampleParameters,
    AppName: "shop",
    EnvName: "staging",
    InstanceSubnets: "private",
    DomainNames: "users.example.com,www.users.example.com",
    WebAclArn: `arn:aws:wafv2:us-east-1:${accountId}:global/webacl/fleetline-edge/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0`,
    // CloudFront's certificates live in us-east-1 whatever the stack's region.
    CertificateArn: `arn:aws:acm:us-east-1:${accountId}:certificate/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0`,
    TableBillingMode: "PROVISIONED",
    TableReadCapacity: "7",
    TableWriteCapacity: "3",
    CacheNodeCount: "3",
    MinSize: "3",
    DesiredCapacity: "4",
    MaxSize: "6",
    LogRetentionDays: "90",
  };
}

export const AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64";

export function resolve(context: Omit<StackContext, "ssmParameters">): ResolvedStack {
  return resolveStack(template, {
    ...context,
    ssmParameters: { [AMI_PARAMETER]: "ami-0a1b2c3d4e5f60718" },
  });
}

export interface Deployment {
  readonly label: string;
  readonly stack: ResolvedStack;
}

/** Two stack names × two regions (and accounts) × two parameter sets. */
export function deployments(): Deployment[] {
  const out: Deployment[] = [];
  for (const stackName of ["fleetline-prod", "Team-Website-2"]) {
    for (const [region, accountId] of [
      ["eu-west-3", "111122223333"],
      ["us-west-2", "444455556666"],
    ] as const) {
      for (const set of ["example", "variant"] as const) {
        const parameters = set === "example" ? exampleParameters : variantParameters(accountId);
        out.push({
          label: `${stackName} in ${region} (${set} parameters)`,
          stack: resolve({ stackName, region, accountId, parameters }),
        });
      }
    }
  }
  return out;
}

export function onlyResource(
  stack: ResolvedStack,
  type: string,
): [string, ResolvedStack["resources"][string]] {
  const found = Object.entries(stack.resources).filter(([, r]) => r.type === type);
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  return found[0]!;
}

/** The user data an instance of this stack receives, decoded from the launch template. */
export function userDataOf(stack: ResolvedStack): string {
  const [, launchTemplate] = onlyResource(stack, "AWS::EC2::LaunchTemplate");
  const data = launchTemplate.properties.LaunchTemplateData as { UserData: string };
  return Buffer.from(data.UserData, "base64").toString("utf8");
}
