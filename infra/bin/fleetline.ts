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
import { synthesizeTemplates, TEMPLATE_FILES } from "../lib/app.js";

const outdir = process.env.CDK_OUTDIR ?? fileURLToPath(new URL("../cdk.out", import.meta.url));
const check = process.argv.includes("--check");
const validate = process.argv.includes("--validate");

const started = performance.now();
const templates = synthesizeTemplates({ outdir, cloudFormationValidation: validate });
const seconds = ((performance.now() - started) / 1000).toFixed(1);

let drifted = false;
for (const [key, file] of Object.entries(TEMPLATE_FILES)) {
  const path = fileURLToPath(new URL(`../../cloudformation/${file}`, import.meta.url));
  const template = templates[key as keyof typeof TEMPLATE_FILES];
  if (check) {
    let committed = "";
    try {
      committed = readFileSync(path, "utf8");
    } catch {
      // missing counts as drift
    }
    if (committed !== template) {
      console.error(`${path} is out of date: run npm run synth and commit it`);
      drifted = true;
    } else {
      console.log(`${file} up to date (${template.length} bytes)`);
    }
  } else {
    writeFileSync(path, template);
    console.log(`wrote ${path} (${template.length} bytes)`);
  }
}
console.log(`synth ${seconds} s`);
if (drifted) process.exit(1);
