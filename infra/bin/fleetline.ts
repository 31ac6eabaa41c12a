/**
 * `npm run synth`: synthesizes the stack (cdk-nag AwsSolutions and the Control Tower controls
 * through cfn-guard included, findings fail) and writes the committed template,
 * cloudformation/fleetline.template.json. The only entry point that reads the command line or the
 * environment; lib/ takes everything as arguments.
 *
 *   tsx infra/bin/fleetline.ts              write the template
 *   tsx infra/bin/fleetline.ts --check      exit 1 if the committed template differs (CI)
 *   tsx infra/bin/fleetline.ts --validate   also run the CDK's CloudFormation schema validation
 *
 * cdk-nag and cfn-guard always run. The schema validation triples the synthesis time and never
 * changes the template, so it is opt-in here; infra/test/template.test.ts runs it on every
 * `npm test`.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { synthesizeTemplate } from "../lib/app.js";

const templatePath = fileURLToPath(
  new URL("../../cloudformation/fleetline.template.json", import.meta.url),
);
const outdir = process.env.CDK_OUTDIR ?? fileURLToPath(new URL("../cdk.out", import.meta.url));
const check = process.argv.includes("--check");
const validate = process.argv.includes("--validate");

const started = performance.now();
const template = synthesizeTemplate({ outdir, cloudFormationValidation: validate });
const seconds = ((performance.now() - started) / 1000).toFixed(1);

if (check) {
  let committed = "";
  try {
    committed = readFileSync(templatePath, "utf8");
  } catch {
    // missing counts as drift
  }
  if (committed !== template) {
    console.error(`${templatePath} is out of date: run npm run synth and commit it`);
    process.exit(1);
  }
  console.log(`template up to date (${template.length} bytes, synth ${seconds} s)`);
} else {
  writeFileSync(templatePath, template);
  console.log(`wrote ${templatePath} (${template.length} bytes, synth ${seconds} s)`);
}
