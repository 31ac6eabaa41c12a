import { App, BootstraplessSynthesizer, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { FleetlineStack } from "./fleetline-stack.js";
import { controlTowerChecks } from "./guard.js";

/**
 * Construct id of the stack: a synth-time name only. The deployed stack's name is whatever
 * `npm run deploy` or the console gives it (`AWS::StackName`); nothing may depend on this one.
 */
export const DEFAULT_STACK_ID = "Fleetline";

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
export function createApp(options: FleetlineAppOptions = {}): { app: App; stack: FleetlineStack } {
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
  if (options.nag ?? true) {
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  }
  if (options.guard ?? true) {
    Validations.of(app).addPlugins(controlTowerChecks());
  }
  return { app, stack };
}

/** Synthesizes and returns the stack's template as the committed file's exact text. */
export function synthesizeTemplate(options: FleetlineAppOptions = {}): string {
  const { app, stack } = createApp(options);
  const assembly = app.synth();
  const template: unknown = assembly.getStackByName(stack.stackName).template;
  return `${JSON.stringify(template, null, 2)}\n`;
}
