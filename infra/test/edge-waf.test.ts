import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { TEMPLATE_FILES } from "../lib/app.js";
import { type CfnTemplate, resolveStack, StackRefused } from "./support/cloudformation.js";
import { exampleParameters, resolve } from "./support/stacks.js";

const waf = JSON.parse(
  readFileSync(new URL(`../../cloudformation/${TEMPLATE_FILES.edgeWaf}`, import.meta.url), "utf8"),
) as CfnTemplate;

describe("optional edge WAF (cloudformation/edge-waf.template.json)", () => {
  const context = { stackName: "fleetline-edge", accountId: "111122223333" };

  test("deploys only in us-east-1, where CloudFront web ACLs live", () => {
    assert.throws(() => resolveStack(waf, { ...context, region: "eu-west-3" }), StackRefused);
    resolveStack(waf, { ...context, region: "us-east-1" });
  });

  test("a CLOUDFRONT-scope ACL: managed common and known-bad-inputs groups, and a per-client rate rule", () => {
    const stack = resolveStack(waf, { ...context, region: "us-east-1" });
    const [acl] = Object.values(stack.resources).filter((r) => r.type === "AWS::WAFv2::WebACL");
    assert.equal(acl?.properties.Scope, "CLOUDFRONT");
    assert.deepEqual(acl?.properties.DefaultAction, { Allow: {} });
    const rules = acl?.properties.Rules as Array<{
      Name: string;
      Statement: Record<string, unknown>;
    }>;
    assert.deepEqual(
      rules.map((r) => r.Name),
      ["AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet", "RequestsPerClient"],
    );
    assert.deepEqual(rules[2]!.Statement, {
      RateBasedStatement: { Limit: "1000", AggregateKeyType: "IP", EvaluationWindowSec: 300 },
    });
  });

  test("its WebAclArn output is what the main stack's WebAclArn parameter accepts", () => {
    const edge = resolveStack(waf, { ...context, region: "us-east-1" });
    const arn = String(edge.outputs.WebAclArn);
    const main = resolve({
      stackName: "fleetline-prod",
      region: "eu-west-3",
      accountId: context.accountId,
      parameters: { ...exampleParameters, WebAclArn: arn },
    });
    const [distribution] = Object.values(main.resources).filter(
      (r) => r.type === "AWS::CloudFront::Distribution",
    );
    assert.equal(
      (distribution!.properties.DistributionConfig as { WebACLId: string }).WebACLId,
      arn,
    );
  });
});
