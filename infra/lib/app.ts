import { App, BootstraplessSynthesizer, type Stack, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { EdgeWafStack } from "./edge-waf-stack.js";
import { FleetlineStack } from "./fleetline-stack.js";
import { controlTowerChecks } from "./guard.js";

/**
 * Construct id of the stack: a synth-time name only. The deployed stack's name is whatever
 * `npm run deploy` or the console gives it (`AWS::StackName`); nothing may depend on this one.
 */
export const DEFAULT_STACK_ID = "Fleetline";

/** The committed templates, by file name under cloudformation/, and the stack each one is. */
export const TEMPLATE_FILES = {
  main: "fleetline.template.json",
  edgeWaf: "edge-waf.template.json",
} as const;

export interface FleetlineAppOptions {
  /** Cloud assembly directory. @default - a fresh temporary directory chosen by the CDK */
  readonly outdir?: string;
  /** Construct id (and default stack name) of the stack. @default "Fleetline" */
  readonly stackId?: string;
  /** Run the cdk-nag AwsSolutions pack during synth (findings make synth throw). @default true */
  readonly nag?: boolean;
  /**
   * Run AWS Control Tower's proactive controls through cfn-guard during synth (findings make synth
   * throw). @default true
   */
  readonly guard?: boolean;
  /**
   * Run the CDK's built-in CloudFormation validation (resource schemas and CloudFormation lint
   * rules) on the template. Thorough but slow: about 80% of the synthesis time. @default true
   */
  readonly cloudFormationValidation?: boolean;
}

/**
 * Builds the app: one environment-agnostic stack that synthesizes to a single template with no
 * assets and no bootstrap requirement, so it can be uploaded in the console as is.
 */
export function createApp(options: FleetlineAppOptions = {}): {
  app: App;
  stack: FleetlineStack;
  edgeWaf: EdgeWafStack;
} {
  const app = new App({
    outdir: options.outdir,
    // Path metadata and version reporting would put construct paths and a CDKMetadata resource
    // in the template: noise in the committed file and in every console view.
    analyticsReporting: false,
    builtinCloudFormationValidation: options.cloudFormationValidation ?? true,
    context: {
      "aws:cdk:enable-path-metadata": false,
      "aws:cdk:disable-stack-trace": true,
      // Server access logs delivered under a bucket policy instead of the legacy ACL, so both
      // buckets can keep ACLs disabled (BucketOwnerEnforced).
      "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": true,
    },
  });
  const stack = new FleetlineStack(app, options.stackId ?? DEFAULT_STACK_ID, {
    synthesizer: new BootstraplessSynthesizer(),
  });
  // Optional, and in us-east-1 whatever the main stack's region (CLOUDFRONT-scope ACLs).
  const edgeWaf = new EdgeWafStack(app, "FleetlineEdgeWaf", {
    synthesizer: new BootstraplessSynthesizer(),
  });
  if (options.nag ?? true) {
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  }
  if (options.guard ?? true) {
    Validations.of(app).addPlugins(controlTowerChecks());
  }
  return { app, stack, edgeWaf };
}

/** Synthesizes every committed template, as the files' exact text, by key of TEMPLATE_FILES. */
export function synthesizeTemplates(
  options: FleetlineAppOptions = {},
): Record<keyof typeof TEMPLATE_FILES, string> {
  const { app, stack, edgeWaf } = createApp(options);
  const assembly = app.synth();
  const text = (s: Stack): string =>
    `${JSON.stringify(assembly.getStackByName(s.stackName).template, null, 2)}\n`;
  return { main: text(stack), edgeWaf: text(edgeWaf) };
}

/** The main stack's template (the one-shot deployable), as the committed file's exact text. */
export function synthesizeTemplate(options: FleetlineAppOptions = {}): string {
  return synthesizeTemplates(options).main;
}
