import { Stack, type StackProps } from "aws-cdk-lib";
import type { Construct } from "constructs";
import type { Cache } from "./cache.js";
import type { Deployment } from "./deployment.js";
import type { Edge } from "./edge.js";
import type { Fleet } from "./fleet.js";
import {
  addOutputs,
  cacheLayer,
  dataLayer,
  deliveryLayer,
  fleetLayer,
  networkLayer,
  type OutputSpec,
} from "./layers.js";
import type { LoadBalancer } from "./load-balancer.js";
import type { Monitoring } from "./monitoring.js";
import type { Network } from "./network.js";
import type { Operators } from "./operators.js";
import { StackParameters } from "./parameters.js";
import type { Pipeline } from "./pipeline.js";
import type { UsersTable } from "./table.js";

/** Outputs of the one-shot stack, in the order the template lists them. */
const OUTPUT_ORDER = [
  "SiteUrl",
  "SignInUrl",
  "DistributionDomainName",
  "OperatorsUserPoolId",
  "DashboardUrl",
  "PipelineName",
  "UsersTableName",
  "CacheAddressParameterName",
  "ArtifactBucketName",
  "AccessLogsBucketName",
] as const;

/**
 * The whole AWS side of fleetline in one environment-agnostic stack: every value that differs
 * between accounts is a CloudFormation parameter (see parameters.ts), so the synthesized template
 * is the deliverable. It runs the five layers of layers.ts in order, handing each the real
 * objects of the layers below; the layered pieces (pieces.ts) run the same functions one per
 * stack.
 */
export class FleetlineStack extends Stack {
  public readonly parameters: StackParameters;
  public readonly network: Network;
  public readonly table: UsersTable;
  public readonly cache: Cache;
  public readonly loadBalancer: LoadBalancer;
  public readonly edge: Edge;
  public readonly operators: Operators;
  public readonly fleet: Fleet;
  public readonly monitoring: Monitoring;
  public readonly deployment: Deployment;
  public readonly pipeline: Pipeline;

  constructor(scope: Construct, id: string, props: StackProps = {}) {
    super(scope, id, {
      description:
        "fleetline: web fleet (ALB + Auto Scaling, AL2023), Valkey key ring, DynamoDB Users, CodePipeline from GitHub to CodeDeploy",
      ...props,
    });
    const p = new StackParameters(this);
    this.parameters = p;

    const network = networkLayer(this, p);
    const data = dataLayer(this, p);
    const cache = cacheLayer(this, p, network.refs);
    const fleet = fleetLayer(this, p, {
      network: network.refs,
      table: data.refs,
      cache: cache.refs,
    });
    const delivery = deliveryLayer(this, p, fleet.refs);

    this.network = network.network;
    this.table = data.table;
    this.cache = cache.cache;
    this.loadBalancer = fleet.loadBalancer;
    this.edge = fleet.edge;
    this.operators = fleet.operators;
    this.fleet = fleet.fleet;
    this.monitoring = fleet.monitoring;
    this.deployment = delivery.deployment;
    this.pipeline = delivery.pipeline;

    const all = new Map<string, OutputSpec>(
      [...data.outputs, ...cache.outputs, ...fleet.outputs, ...delivery.outputs].map((o) => [
        o.id,
        o,
      ]),
    );
    addOutputs(
      this,
      OUTPUT_ORDER.map((id) => all.get(id)!),
    );
  }
}
