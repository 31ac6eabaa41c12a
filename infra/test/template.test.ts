import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { App, BootstraplessSynthesizer, Stack, Validations } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import { AwsSolutionsChecks } from "cdk-nag";
import { createApp, synthesizeTemplate, synthesizeTemplates, TEMPLATE_FILES } from "../lib/app.js";
import { auditAcknowledgements, nagAcknowledgements } from "./support/nag.js";

const dirs: string[] = [];
function outdir(): string {
  const dir = mkdtempSync(join(tmpdir(), "fleetline-template-"));
  dirs.push(dir);
  return dir;
}
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const committedPath = new URL("../../cloudformation/fleetline.template.json", import.meta.url);

describe("committed template", () => {
  // Synthesized once here with every check on (cdk-nag: any unacknowledged finding throws; the
  // CDK's CloudFormation schema validation: any error throws) and compared byte for byte; a second,
  // faster synthesis without the schema validation checks determinism.
  const started = performance.now();
  const first = synthesizeTemplate({ outdir: outdir() });
  const seconds = (performance.now() - started) / 1000;

  test("matches what infra/ synthesizes (run `npm run synth` and commit when this fails)", () => {
    const committed = readFileSync(committedPath, "utf8");
    assert.ok(
      committed === first,
      "cloudformation/fleetline.template.json has drifted from infra/",
    );
  });

  test("the optional edge WAF template matches what infra/ synthesizes too", () => {
    const committed = readFileSync(
      new URL(`../../cloudformation/${TEMPLATE_FILES.edgeWaf}`, import.meta.url),
      "utf8",
    );
    const { edgeWaf } = synthesizeTemplates({ outdir: outdir(), cloudFormationValidation: false });
    assert.ok(committed === edgeWaf, "cloudformation/edge-waf.template.json has drifted");
  });

  test("synthesizes to identical bytes twice", () => {
    const second = synthesizeTemplate({ outdir: outdir(), cloudFormationValidation: false });
    assert.ok(second === first, "two syntheses differ");
  });

  test("synthesizes within the 15 s budget, even with the schema validation", (t) => {
    t.diagnostic(`synth took ${seconds.toFixed(1)} s, template ${first.length} bytes`);
    // Generous for a loaded CI machine; `npm run synth` (no schema validation) prints its figure.
    assert.ok(seconds < 45, `synth took ${seconds.toFixed(1)} s`);
  });
});

describe("cdk-nag", () => {
  test("the AwsSolutions pack runs on the whole app with zero unacknowledged findings", () => {
    const { app } = createApp({ outdir: outdir(), nag: false });
    const report = new AwsSolutionsChecks().validateScope(app);
    assert.deepEqual(
      report.violations.map(
        (v) => `${v.ruleName} ${v.violatingResources.map((r) => r.constructPath).join(", ")}`,
      ),
      [],
    );
  });

  test("acknowledgements sit on the resources they concern, each with its own reason", () => {
    const { app } = createApp({ outdir: outdir(), nag: false });
    const acknowledged = nagAcknowledgements(app);
    assert.ok(acknowledged.length > 0);
    // None on the stack or app: every acknowledgement is scoped to a construct below the stack.
    for (const a of acknowledged) {
      assert.ok(a.path.split("/").length >= 3, `${a.id} acknowledged too high, at ${a.path}`);
      assert.ok(a.reason.length >= 60, `${a.id} at ${a.path}: reason too short to be specific`);
    }
    // The same reason text is reused only within one construct's set of IAM5 findings.
    const byReason = new Map<string, Set<string>>();
    for (const a of acknowledged) {
      byReason.set(a.reason, (byReason.get(a.reason) ?? new Set()).add(a.path));
    }
    for (const [reason, paths] of byReason) {
      assert.equal(paths.size, 1, `reason reused across ${[...paths].join(", ")}: ${reason}`);
    }
  });

  test("every acknowledgement still matches a finding on its construct (none is stale)", () => {
    const { app } = createApp({ outdir: outdir(), nag: false });
    const { acknowledged, stale, uncovered } = auditAcknowledgements(app);
    assert.deepEqual(stale, []);
    assert.deepEqual(uncovered, []);
    assert.equal(acknowledged.length, 36, "README quotes this count");
  });

  test("a finding that is not acknowledged makes synthesis throw", () => {
    // Same wiring as createApp(), on a stack with an SSH port open to the world.
    const app = new App({ outdir: outdir(), analyticsReporting: false });
    const stack = new Stack(app, "Bad", { synthesizer: new BootstraplessSynthesizer() });
    const vpc = new ec2.Vpc(stack, "Vpc", { natGateways: 0, restrictDefaultSecurityGroup: false });
    new ec2.SecurityGroup(stack, "Open", { vpc }).addIngressRule(
      ec2.Peer.anyIpv4(),
      ec2.Port.tcp(22),
    );
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    assert.throws(() => app.synth(), /Validation failed/);
  });
});
