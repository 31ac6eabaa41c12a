/**
 * `npm run synth`: synthesizes the stacks (cdk-nag AwsSolutions and the Control Tower controls
 * through cfn-guard included, findings fail) and writes the committed templates: the one-shot
 * cloudformation/fleetline.template.json, the optional edge WAF, and the layered pieces under
 * cloudformation/pieces/. The only entry point that reads the command line or the environment;
 * lib/ takes everything as arguments.
 *
 *   tsx infra/bin/fleetline.ts              write the templates
 *   tsx infra/bin/fleetline.ts --check      exit 1 if a committed template differs, is missing, or
 *                                           a file in cloudformation/pieces/ is not a piece (CI)
 *   tsx infra/bin/fleetline.ts --validate   also run the CDK's CloudFormation schema validation
 *
 * cdk-nag and cfn-guard always run. The schema validation triples the synthesis time and never
 * changes the template, so it is opt-in here; infra/test/template.test.ts runs it on every
 * `npm test`.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  PIECES_DIR,
  synthesizePieceTemplates,
  synthesizeTemplates,
  TEMPLATE_FILES,
} from "../lib/app.js";

const outdir = process.env.CDK_OUTDIR ?? fileURLToPath(new URL("../cdk.out", import.meta.url));
const check = process.argv.includes("--check");
const validate = process.argv.includes("--validate");

const started = performance.now();
const templates = synthesizeTemplates({ outdir, cloudFormationValidation: validate });
const pieces = synthesizePieceTemplates({
  // A directory of its own: the pieces are another cloud assembly.
  outdir: `${outdir}/pieces`,
  cloudFormationValidation: validate,
});
const seconds = ((performance.now() - started) / 1000).toFixed(1);

const cloudformation = fileURLToPath(new URL("../../cloudformation/", import.meta.url));
const files = new Map<string, string>();
for (const [key, file] of Object.entries(TEMPLATE_FILES)) {
  files.set(file, templates[key as keyof typeof TEMPLATE_FILES]);
}
for (const [file, text] of Object.entries(pieces)) files.set(`${PIECES_DIR}/${file}`, text);

let drifted = false;
// A piece removed from PIECES must not linger as a deployable file.
const listed = (() => {
  try {
    return readdirSync(`${cloudformation}${PIECES_DIR}`).map((f) => `${PIECES_DIR}/${f}`);
  } catch {
    return [];
  }
})();
for (const stale of listed.filter((f) => !files.has(f))) {
  if (check) {
    console.error(`${cloudformation}${stale} is not a piece any more: run npm run synth`);
    drifted = true;
  } else {
    rmSync(`${cloudformation}${stale}`);
    console.log(`removed ${cloudformation}${stale}`);
  }
}
if (!check) mkdirSync(`${cloudformation}${PIECES_DIR}`, { recursive: true });
for (const [file, template] of files) {
  const path = `${cloudformation}${file}`;
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
