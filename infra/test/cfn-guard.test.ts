import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, test } from "node:test";
import { CfnElement, type IPolicyValidationContextBeta1, Stack, Validations } from "aws-cdk-lib";
import * as s3 from "aws-cdk-lib/aws-s3";
import { createApp } from "../lib/app.js";
import {
  CONTROL_RULES,
  controlTowerChecks,
  DISABLED_CONTROLS,
  GUARD_NAMESPACE,
} from "../lib/guard.js";
import { INSTANCE_TYPES } from "../lib/parameters.js";

const dirs: string[] = [];
function outdir(): string {
  const dir = mkdtempSync(join(tmpdir(), "fleetline-guard-"));
  dirs.push(dir);
  return dir;
}
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const packageDir = dirname(
  createRequire(import.meta.url).resolve("@cdklabs/cdk-validator-cfnguard/package.json"),
);
const rulesDir = join(packageDir, "rules", "control-tower", "cfn-guard");

function ruleFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    return statSync(full).isDirectory() ? ruleFiles(full) : name.endsWith(".guard") ? [full] : [];
  });
}
const allRules = ruleFiles(rulesDir);

/** The bundled rule file of a Control Tower id: CT.S3.PR.9 → …/ct-s3-pr-9.guard. */
function ruleFile(control: string): string {
  const name = `${control.toLowerCase().replaceAll(".", "-")}.guard`;
  const file = allRules.find((f) => f.endsWith(`/${name}`));
  assert.ok(file, `no bundled rule file ${name}`);
  return file;
}

/** The parts of the template these tests read. */
interface TemplateDoc {
  Parameters: Record<string, { AllowedValues?: string[]; AllowedPattern?: string }>;
  Resources: Record<
    string,
    {
      Type: string;
      Properties: {
        LoadBalancerAttributes?: Array<{ Key: string; Value: string }>;
        VPCZoneIdentifier?: Array<{ "Fn::If": [string, { Ref: string }, { Ref: string }] }>;
        AvailabilityZone?: unknown;
        Protocol?: string;
        Certificates?: unknown;
      };
    }
  >;
}

/** The cfnguard plugin's part of cdk.out/validation-report.json. */
interface GuardReport {
  pluginName: string;
  conclusion: string;
  violations: Array<{ violatingConstructs: Array<{ constructPath: string }> }>;
  suppressedViolations: Array<{ reason?: string }>;
}

function guardReport(dir: string): GuardReport {
  const report = JSON.parse(readFileSync(join(dir, "validation-report.json"), "utf8")) as {
    pluginReports: GuardReport[];
  };
  const guard = report.pluginReports.find((p) => p.pluginName === GUARD_NAMESPACE);
  assert.ok(guard, "no cfnguard report");
  return guard;
}

const ofType = (template: TemplateDoc, type: string) =>
  Object.values(template.Resources).filter((r) => r.Type === type);

interface Finding {
  readonly rule: string;
  readonly path: string;
}

/**
 * The app as `npm run synth` builds it, synthesized without validation plugins, and what the
 * Control Tower rules find in its template when no acknowledgement applies: the plugin is called
 * directly, and acknowledgements are applied by the CDK only around a synth.
 */
function unacknowledged(): {
  template: TemplateDoc;
  findings: Finding[];
  acknowledged: Array<{ path: string; rule: string; reason: string }>;
} {
  const { app, stack } = createApp({
    outdir: outdir(),
    nag: false,
    guard: false,
    cloudFormationValidation: false,
  });
  const artifact = app.synth().getStackByName(stack.stackName);
  const pathOf = new Map<string, string>();
  for (const c of app.node.findAll()) {
    if (CfnElement.isCfnElement(c)) {
      pathOf.set(Stack.of(c).resolve(Stack.of(c).getLogicalId(c)) as string, c.node.path);
    }
  }
  const context = { templatePaths: [artifact.templateFullPath] } as IPolicyValidationContextBeta1;
  const report = controlTowerChecks().validate(context);
  const findings = report.violations.flatMap((v) =>
    v.violatingResources.map((r) => {
      const path = pathOf.get(r.resourceLogicalId);
      assert.ok(path, `finding on unknown logical id ${r.resourceLogicalId}`);
      return { rule: v.ruleName, path };
    }),
  );
  const acknowledged: Array<{ path: string; rule: string; reason: string }> = [];
  for (const c of app.node.findAll()) {
    for (const entry of c.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
        if (!id.startsWith(`${GUARD_NAMESPACE}::`)) continue;
        acknowledged.push({
          path: c.node.path,
          rule: id.slice(GUARD_NAMESPACE.length + 2),
          reason,
        });
      }
    }
  }
  return { template: artifact.template as TemplateDoc, findings, acknowledged };
}

const covers = (ackPath: string, path: string) =>
  path === ackPath || path.startsWith(`${ackPath}/`);

describe("AWS Control Tower proactive controls (cfn-guard)", () => {
  const { template, findings, acknowledged } = unacknowledged();

  test("the plugin runs the bundled rules with the bundled cfn-guard binary (nothing downloaded)", () => {
    const arch = process.arch === "arm64" ? "aarch64" : "x86_64";
    const binary = join(
      packageDir,
      "bin",
      process.platform === "darwin" ? "macos" : "ubuntu",
      arch,
    );
    assert.ok(statSync(join(binary, "cfn-guard")).isFile(), `no cfn-guard binary in ${binary}`);
    assert.ok(allRules.length >= 200, `only ${allRules.length} bundled rules`);
    const plugin = controlTowerChecks();
    assert.equal(plugin.ruleIds?.length, allRules.length - DISABLED_CONTROLS.length);
  });

  test("they find something in this template (the check is live), and all of it is acknowledged", () => {
    assert.ok(findings.length >= 10, `only ${findings.length} findings: are the rules running?`);
    const uncovered = findings.filter(
      (f) => !acknowledged.some((a) => a.rule === f.rule && covers(a.path, f.path)),
    );
    assert.deepEqual(uncovered, []);
  });

  test("every acknowledgement still matches a finding on its construct (none is stale)", () => {
    const stale = acknowledged.filter(
      (a) => !findings.some((f) => f.rule === a.rule && covers(a.path, f.path)),
    );
    assert.deepEqual(stale, []);
    assert.equal(acknowledged.length, 28, "infra/README.md quotes this count");
  });

  test("acknowledgements sit on the resources they concern, each with its own reason", () => {
    for (const a of acknowledged) {
      assert.ok(a.path.split("/").length >= 2 && a.path !== "Fleetline", `${a.rule} on the stack`);
      assert.ok(a.reason.length >= 100, `${a.rule} at ${a.path}: reason too short to be specific`);
      assert.match(a.reason, /^CT\.[A-Z0-9-]+\.PR\.\d+: /);
    }
    // A reason is shared only by sibling resources made in one loop (the two public subnets).
    const parent = (path: string) => path.slice(0, path.lastIndexOf("/"));
    const byReason = new Map<string, Set<string>>();
    for (const a of acknowledged) {
      byReason.set(a.reason, (byReason.get(a.reason) ?? new Set()).add(parent(a.path)));
    }
    for (const [reason, parents] of byReason) {
      assert.equal(parents.size, 1, `reason reused across ${[...parents].join(", ")}: ${reason}`);
    }
  });

  test("each acknowledged control names the rule its bundled file defines", () => {
    for (const [control, rule] of Object.entries(CONTROL_RULES)) {
      const text = readFileSync(ruleFile(control), "utf8");
      assert.match(
        text,
        new RegExp(`^rule ${rule} when`, "m"),
        `${control} does not define ${rule}`,
      );
      assert.ok(text.includes(`[${control}]`), `${control}'s file does not carry its id`);
    }
  });

  test("the ALB is deletion-protected and instances get detailed monitoring (fixed, not acknowledged)", () => {
    assert.ok(!findings.some((f) => f.rule === "elbv2_deletion_protection_enabled_check"));
    assert.ok(!findings.some((f) => f.rule === "ec2_launch_template_monitoring_enabled_check"));
    const albs = ofType(template, "AWS::ElasticLoadBalancingV2::LoadBalancer");
    assert.equal(albs.length, 1);
    assert.deepEqual(
      albs[0]!.Properties.LoadBalancerAttributes?.find(
        (a) => a.Key === "deletion_protection.enabled",
      ),
      { Key: "deletion_protection.enabled", Value: "true" },
    );
  });

  test("CT.EC2.PR.15: every instance type the parameter allows is a Nitro type by the rule's own list", () => {
    const text = readFileSync(ruleFile("CT.EC2.PR.15"), "utf8");
    const list = text.slice(text.indexOf("let NITRO_INSTANCE_TYPES = ["));
    const nitro = [...list.slice(0, list.indexOf("]")).matchAll(/\/(\^[^/]+\$)\//g)].map(
      (m) => new RegExp(m[1]!),
    );
    assert.ok(nitro.length > 50, "could not read the rule's Nitro list");
    assert.deepEqual(template.Parameters.InstanceType?.AllowedValues, [...INSTANCE_TYPES]);
    for (const type of INSTANCE_TYPES) {
      assert.ok(
        nitro.some((re) => re.test(type)),
        `${type} is not Nitro by CT.EC2.PR.15`,
      );
    }
  });

  test("CT.AUTOSCALING.PR.1: the group's two subnets are in two different zones, in either mode", () => {
    const [group] = ofType(template, "AWS::AutoScaling::AutoScalingGroup");
    const zoneOf = (ref: { Ref: string }) =>
      JSON.stringify(template.Resources[ref.Ref]?.Properties.AvailabilityZone);
    const zones = (group?.Properties.VPCZoneIdentifier ?? []).map((entry) => {
      const [, privateSubnet, publicSubnet] = entry["Fn::If"];
      assert.equal(zoneOf(privateSubnet), zoneOf(publicSubnet), "a branch switches zones");
      return zoneOf(publicSubnet);
    });
    assert.equal(zones.length, 2);
    assert.notEqual(zones[0], zones[1]);
  });

  test("no control is disabled: every bundled rule runs", () => {
    assert.deepEqual(DISABLED_CONTROLS, []);
  });
});

describe("cfn-guard in the synthesis", () => {
  test("an unacknowledged finding makes synthesis throw and is named in the report", () => {
    const dir = outdir();
    const { app, stack } = createApp({ outdir: dir, nag: false, cloudFormationValidation: false });
    // A bucket nobody reviewed: no versioning, no KMS key, no logging, no acknowledgement.
    new s3.Bucket(stack, "Unreviewed");
    assert.throws(() => app.synth(), /Validation failed/);
    const guard = guardReport(dir);
    assert.equal(guard.conclusion, "failure");
    const paths = new Set(
      guard.violations.flatMap((v) => v.violatingConstructs.map((c) => c.constructPath)),
    );
    assert.deepEqual([...paths], ["Fleetline/Unreviewed/Resource"]);
    assert.ok(guard.suppressedViolations.length > 0, "the app's own acknowledgements still apply");
  });

  test("the app as built synthesizes with the plugin on: every finding acknowledged", () => {
    const dir = outdir();
    const { app } = createApp({ outdir: dir, nag: false, cloudFormationValidation: false });
    app.synth();
    const guard = guardReport(dir);
    assert.equal(guard.conclusion, "success");
    assert.deepEqual(guard.violations, []);
    for (const s of guard.suppressedViolations) {
      assert.match(s.reason ?? "", /^CT\./, JSON.stringify(s).slice(0, 200));
    }
  });
});
