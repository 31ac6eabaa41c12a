import { App, BootstraplessSynthesizer, type Stack, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { EdgeWafStack } from "./edge-waf-stack.js";
import { FleetlineStack } from "./fleetline-stack.js";
import { controlTowerChecks } from "./guard.js";
import { PIECES, PieceStack } from "./pieces.js";

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

/** Directory of the layered templates under cloudformation/, one file per entry of PIECES. */
export const PIECES_DIR = "pieces";

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
function newApp(options: FleetlineAppOptions): App {
  return new App({
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
}

function addChecks(app: App, options: FleetlineAppOptions): void {
  if (options.nag ?? true) {
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  }
  if (options.guard ?? true) {
    Validations.of(app).addPlugins(controlTowerChecks());
  }
}

export function createApp(options: FleetlineAppOptions = {}): {
  app: App;
  stack: FleetlineStack;
  edgeWaf: EdgeWafStack;
} {
  const app = newApp(options);
  const stack = new FleetlineStack(app, options.stackId ?? DEFAULT_STACK_ID, {
    synthesizer: new BootstraplessSynthesizer(),
  });
  // Optional, and in us-east-1 whatever the main stack's region (CLOUDFRONT-scope ACLs).
  const edgeWaf = new EdgeWafStack(app, "FleetlineEdgeWaf", {
    synthesizer: new BootstraplessSynthesizer(),
  });
  addChecks(app, options);
  return { app, stack, edgeWaf };
}

/**
 * Builds the layered pieces' app: one stack per entry of PIECES, each synthesized to its own
 * template under cloudformation/pieces/, with the same checks as the one-shot app. A separate
 * app so that the one-shot's findings and acknowledgements are counted on their own.
 */
export function createPiecesApp(options: FleetlineAppOptions = {}): {
  app: App;
  pieces: PieceStack[];
} {
  const app = newApp(options);
  const pieces = PIECES.map(
    (piece) => new PieceStack(app, piece, { synthesizer: new BootstraplessSynthesizer() }),
  );
  addChecks(app, options);
  return { app, pieces };
}

/** Synthesizes every piece, as the files' exact text, by file name (in deploy order). */
export function synthesizePieceTemplates(
  options: FleetlineAppOptions = {},
): Record<string, string> {
  const { app, pieces } = createPiecesApp(options);
  const assembly = app.synth();
  return Object.fromEntries(
    pieces.map((s) => [
      s.piece.file,
      `${JSON.stringify(assembly.getStackByName(s.stackName).template, null, 2)}\n`,
    ]),
  );
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
