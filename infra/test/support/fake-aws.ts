/**
 * A local HTTP server that speaks just enough of four AWS wire protocols for the deploy CLI:
 * CloudFormation, STS and Elastic Load Balancing v2 (query protocol: form-encoded POST, XML
 * answers) and S3 (REST-XML, path-style). The real SDK reaches it through its endpoint settings,
 * so serialisation, signing, retries, timeouts, paginators and waiters all run for real. Written by hand because no maintained
 * library fakes CloudFormation change sets and stack status sequences offline (moto and
 * LocalStack are Python/Docker services, unavailable here).
 *
 * Each test scripts one stack: where it starts, how its change set ends, and the status sequence
 * DescribeStacks walks through once the change set is executed (or the stack deleted). As in
 * AWS, the stack's load balancers start with deletion protection on, and DeleteStack fails
 * (DELETE_FAILED) while one of them still has it.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** An event of a resource other than the stack itself. */
export interface FakeEvent {
  readonly logicalId: string;
  readonly type: string;
  readonly status: string;
  readonly reason?: string;
}

/** One observable state of the stack: its resources' events, then the stack's own status. */
export interface StackStep {
  readonly status: string;
  readonly reason?: string;
  readonly events?: readonly FakeEvent[];
}

export interface FakeChange {
  readonly action: "Add" | "Modify" | "Remove";
  readonly type: string;
  readonly logicalId: string;
  readonly replacement?: "True" | "False" | "Conditional";
}

export interface FakeError {
  readonly status: number;
  readonly code: string;
  readonly message: string;
}

/** What one stack does, for a scenario of several stacks (the layered pieces). */
export type StackScript = Pick<
  Scenario,
  | "history"
  | "changeSet"
  | "createChangeSetError"
  | "execution"
  | "outputs"
  | "resources"
  | "eventPageSize"
  | "exports"
  | "imports"
>;

export interface Scenario {
  readonly stackName?: string;
  /** Outputs exported under these names (name → value), shown by DescribeStacks. */
  readonly exports?: Readonly<Record<string, string>>;
  /** Export names this stack imports: ListImports names it while the stack exists. */
  readonly imports?: readonly string[];
  /** More stacks in the same account and region, by name (the primary one is `stackName`). A
   * stack named in no script appears at its first CreateChangeSet, with an empty script. */
  readonly stacks?: Readonly<Record<string, StackScript>>;
  /** The stack before the run, as steps already taken; omitted: there is no such stack. */
  readonly history?: readonly StackStep[];
  readonly changeSet?: {
    /** What DescribeChangeSet reports, one per call, the last one staying.
     * @default ["CREATE_IN_PROGRESS", "CREATE_COMPLETE"] */
    readonly statuses?: readonly string[];
    readonly reason?: string;
    /** @default "AVAILABLE" */
    readonly executionStatus?: string;
    readonly changes?: readonly FakeChange[];
    /** Changes per DescribeChangeSet page. @default 100 */
    readonly pageSize?: number;
  };
  /** CreateChangeSet answers this error instead of creating anything. */
  readonly createChangeSetError?: FakeError;
  /** What DescribeStacks shows after ExecuteChangeSet or DeleteStack: one step per call, the
   * last one staying. */
  readonly execution?: readonly StackStep[];
  readonly outputs?: Readonly<Record<string, string>>;
  /** Physical resources, for ListStackResources. */
  readonly resources?: readonly FakeResource[];
  /** Physical ids of load balancers among `resources` that someone deleted outside the stack:
   * ELBv2 answers LoadBalancerNotFound for them. */
  readonly deletedOutsideStack?: readonly string[];
  /** Events per DescribeStackEvents page. @default 100 */
  readonly eventPageSize?: number;
  /** @default false: HeadBucket answers 404 until CreateBucket */
  readonly bucketExists?: boolean;
  /** Errors answered before the real answer: action name → errors, in order (the SDK retries
   * throttling and 5xx; any other error is final). */
  readonly faults?: Readonly<Record<string, readonly FakeError[]>>;
  /** Requests accepted and never answered: action name → which of its calls (1 = the first). */
  readonly hang?: Readonly<Record<string, readonly number[]>>;
  /** Requests answered with headers and then a body that never ends, likewise. */
  readonly stall?: Readonly<Record<string, readonly number[]>>;
}

export interface FakeResource {
  readonly logicalId: string;
  readonly physicalId: string;
  /** @default "AWS::CloudFormation::WaitConditionHandle" (any type the CLI has no step for) */
  readonly type?: string;
  /** @default "CREATE_COMPLETE" */
  readonly status?: string;
}

export interface Call {
  readonly service: string;
  readonly action: string;
  readonly params: Readonly<Record<string, string>>;
}

export interface FakeAws {
  readonly url: string;
  /** Every request in order (including those answered with an injected fault). */
  readonly calls: Call[];
  readonly actions: () => string[];
  /** Objects stored through PutObject: `bucket/key` → body. */
  readonly objects: Map<string, string>;
  /** Load balancers whose deletion protection is on (all of the stack's, until turned off). */
  readonly protectedLoadBalancers: Set<string>;
  readonly close: () => Promise<void>;
}

interface StackEvent {
  EventId: string;
  StackId: string;
  StackName: string;
  LogicalResourceId: string;
  PhysicalResourceId: string;
  ResourceType: string;
  ResourceStatus: string;
  ResourceStatusReason?: string;
  Timestamp: Date;
}

class AwsError extends Error {
  constructor(readonly error: FakeError) {
    super(error.message);
  }
}

const LOAD_BALANCER = "AWS::ElasticLoadBalancingV2::LoadBalancer";

/** The XML namespace of each query-protocol service's answers (its API version). */
const NAMESPACES: Readonly<Record<string, string>> = {
  cloudformation: "http://cloudformation.amazonaws.com/doc/2010-05-15/",
  sts: "https://sts.amazonaws.com/doc/2011-06-15/",
  elasticloadbalancing: "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/",
};
/** The API version each query-protocol client must send (ELBv1 signs as the same service). */
const VERSIONS: Readonly<Record<string, string>> = {
  cloudformation: "2010-05-15",
  sts: "2011-06-15",
  elasticloadbalancing: "2015-12-01",
};

const notFound = (name: string): FakeError => ({
  status: 400,
  code: "ValidationError",
  message: `Stack with id ${name} does not exist`,
});

/** XML of a value the way the query protocol writes it: lists as <member> elements. */
function xml(value: unknown): string {
  if (Array.isArray(value)) return value.map((v) => `<member>${xml(v)}</member>`).join("");
  if (value instanceof Date) return value.toISOString();
  if (value !== null && typeof value === "object") {
    return Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `<${k}>${xml(v)}</${k}>`)
      .join("");
  }
  return String(value).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

export async function startFakeAws(scenario: Scenario = {}): Promise<FakeAws> {
  const calls: Call[] = [];
  const objects = new Map<string, string>();
  const buckets = new Set<string>();
  const faults = new Map(Object.entries(scenario.faults ?? {}).map(([k, v]) => [k, [...v]]));
  const counts = new Map<string, number>();
  const scripts: Record<string, StackScript> = {
    [scenario.stackName ?? "fleetline-prod"]: scenario,
    ...scenario.stacks,
  };
  const allResources = Object.values(scripts).flatMap((s) => s.resources ?? []);
  const liveLoadBalancers = new Set(
    allResources
      .filter((r) => r.type === LOAD_BALANCER && r.status !== "DELETE_COMPLETE")
      .map((r) => r.physicalId)
      .filter((id) => !scenario.deletedOutsideStack?.includes(id)),
  );
  const protectedLoadBalancers = new Set(liveLoadBalancers);
  let clock = Date.now() - 3_600_000;

  function page<T>(items: readonly T[], size: number, token: string | undefined) {
    const start = token ? Number(token) : 0;
    const next = start + size < items.length ? String(start + size) : undefined;
    return { items: items.slice(start, start + size), next };
  }

  /** One stack: its status, events, change set and script. */
  function makeStack(stackName: string, script: StackScript) {
    const stackId = `arn:aws:cloudformation:eu-west-3:123456789012:stack/${stackName}/${randomUUID()}`;
    const resources = script.resources ?? [];
    let status: string | undefined;
    let statusReason: string | undefined;
    const events: StackEvent[] = []; // oldest first
    let pending: StackStep[] = [];
    let changeSet: { id: string; name: string; describes: number } | undefined;

    function addEvent(logicalId: string, type: string, eventStatus: string, reason?: string) {
      clock += 1000;
      events.push({
        EventId: randomUUID(),
        StackId: stackId,
        StackName: stackName,
        LogicalResourceId: logicalId,
        PhysicalResourceId: type === "AWS::CloudFormation::Stack" ? stackId : `${logicalId}-phys`,
        ResourceType: type,
        ResourceStatus: eventStatus,
        ResourceStatusReason: reason,
        Timestamp: new Date(clock),
      });
    }
    function apply(step: StackStep) {
      for (const e of step.events ?? []) addEvent(e.logicalId, e.type, e.status, e.reason);
      if (step.status !== status) {
        addEvent(stackName, "AWS::CloudFormation::Stack", step.status, step.reason);
      }
      status = step.status;
      statusReason = step.reason;
    }
    for (const step of script.history ?? []) apply(step);

    const exists = (name: string | undefined) =>
      status !== undefined &&
      (name === stackId || (name === stackName && status !== "DELETE_COMPLETE"));
    /** Still there, as ListImports sees it (a deleted stack imports nothing). */
    const live = () => status !== undefined && status !== "DELETE_COMPLETE";

    const handlers: Record<string, (p: Record<string, string>) => object> = {
      DescribeStacks: (p) => {
        if (!exists(p.StackName)) throw new AwsError(notFound(p.StackName ?? ""));
        const step = pending.shift();
        if (step) apply(step);
        const outputs = [
          ...Object.entries(script.outputs ?? {}).map(([OutputKey, OutputValue]) => ({
            OutputKey,
            OutputValue,
          })),
          ...Object.entries(script.exports ?? {}).map(([ExportName, OutputValue]) => ({
            OutputKey: ExportName.split("-").pop(),
            OutputValue,
            ExportName,
          })),
        ];
        return {
          Stacks: [
            {
              StackId: stackId,
              StackName: stackName,
              CreationTime: new Date(events[0]!.Timestamp),
              StackStatus: status,
              StackStatusReason: statusReason,
              Outputs: outputs.length > 0 ? outputs : undefined,
            },
          ],
        };
      },
      DescribeStackEvents: (p) => {
        if (!exists(p.StackName)) throw new AwsError(notFound(p.StackName ?? ""));
        const { items, next } = page(
          [...events].reverse(),
          script.eventPageSize ?? 100,
          p.NextToken,
        );
        return { StackEvents: items, NextToken: next };
      },
      CreateChangeSet: (p) => {
        if (script.createChangeSetError) throw new AwsError(script.createChangeSetError);
        if (p.TemplateURL) {
          // As CloudFormation does: the body must be readable at that URL.
          const m = /^https:\/\/([^.]+)\.s3\.[a-z0-9-]+\.amazonaws\.com\/(.+)$/.exec(p.TemplateURL);
          if (!m || !objects.has(`${m[1]}/${m[2]}`)) {
            throw new AwsError({
              status: 400,
              code: "ValidationError",
              message: "S3 error: Access Denied",
            });
          }
        }
        if (p.ChangeSetType === "CREATE") {
          if (status !== undefined && status !== "REVIEW_IN_PROGRESS") {
            throw new AwsError({
              status: 400,
              code: "AlreadyExistsException",
              message: `Stack [${stackName}] already exists`,
            });
          }
          if (status === undefined)
            apply({ status: "REVIEW_IN_PROGRESS", reason: "User Initiated" });
        } else if (!exists(p.StackName)) {
          throw new AwsError(notFound(p.StackName ?? ""));
        }
        const id = `arn:aws:cloudformation:eu-west-3:123456789012:changeSet/${p.ChangeSetName}/${randomUUID()}`;
        changeSet = { id, name: p.ChangeSetName ?? "", describes: 0 };
        return { Id: id, StackId: stackId };
      },
      DescribeChangeSet: (p) => {
        if (
          !changeSet ||
          (p.ChangeSetName !== changeSet.id && p.ChangeSetName !== changeSet.name)
        ) {
          throw new AwsError({
            status: 400,
            code: "ChangeSetNotFound",
            message: `ChangeSet [${p.ChangeSetName}] does not exist`,
          });
        }
        const cs = script.changeSet ?? {};
        const statuses = cs.statuses ?? ["CREATE_IN_PROGRESS", "CREATE_COMPLETE"];
        const csStatus = statuses[Math.min(changeSet.describes++, statuses.length - 1)]!;
        const changes = (cs.changes ?? []).map((c) => ({
          Type: "Resource",
          ResourceChange: {
            Action: c.action,
            LogicalResourceId: c.logicalId,
            ResourceType: c.type,
            Replacement: c.replacement,
          },
        }));
        const { items, next } = page(changes, cs.pageSize ?? 100, p.NextToken);
        return {
          ChangeSetId: changeSet.id,
          ChangeSetName: changeSet.name,
          StackId: stackId,
          StackName: stackName,
          Status: csStatus,
          StatusReason: csStatus === "FAILED" ? cs.reason : undefined,
          ExecutionStatus:
            csStatus === "CREATE_COMPLETE" ? (cs.executionStatus ?? "AVAILABLE") : "UNAVAILABLE",
          Changes: csStatus === "CREATE_COMPLETE" ? items : [],
          NextToken: csStatus === "CREATE_COMPLETE" ? next : undefined,
        };
      },
      ExecuteChangeSet: () => {
        pending = [...(script.execution ?? [])];
        return {};
      },
      DeleteChangeSet: () => ({}),
      DeleteStack: () => {
        const blocking = resources.find((r) => protectedLoadBalancers.has(r.physicalId));
        // What CloudFormation does with a protected load balancer: tries, fails, stops there.
        pending = blocking
          ? [
              { status: "DELETE_IN_PROGRESS", reason: "User Initiated" },
              {
                status: "DELETE_FAILED",
                reason: `The following resource(s) failed to delete: [${blocking.logicalId}].`,
                events: [
                  {
                    logicalId: blocking.logicalId,
                    type: LOAD_BALANCER,
                    status: "DELETE_FAILED",
                    reason: `Load balancer '${blocking.physicalId}' cannot be deleted because deletion protection is enabled`,
                  },
                ],
              },
            ]
          : [...(script.execution ?? [])];
        return {};
      },
      ListStackResources: (p) => {
        if (!exists(p.StackName)) throw new AwsError(notFound(p.StackName ?? ""));
        return {
          StackResourceSummaries: resources.map((r) => ({
            LogicalResourceId: r.logicalId,
            PhysicalResourceId: r.physicalId,
            ResourceType: r.type ?? "AWS::CloudFormation::WaitConditionHandle",
            ResourceStatus: r.status ?? "CREATE_COMPLETE",
            LastUpdatedTimestamp: new Date(clock),
          })),
        };
      },
    };
    return {
      stackName,
      stackId,
      handlers,
      live,
      exists,
      imports: script.imports ?? [],
      exports: script.exports ?? {},
      complete: () =>
        status !== undefined && /^(CREATE|UPDATE|UPDATE_ROLLBACK|IMPORT)_COMPLETE$/.test(status),
      changeSetId: () => changeSet?.id,
    };
  }

  const stacks = Object.entries(scripts).map(([name, script]) => makeStack(name, script));
  /** The stack a request names (by name or id); a new one at its first CreateChangeSet. */
  function stackFor(action: string, p: Record<string, string>) {
    const name = p.StackName ?? "";
    const found =
      stacks.find((s) => s.stackId === name) ??
      stacks.find((s) => s.stackName === name && s.exists(name)) ??
      stacks.find((s) => s.stackName === name) ??
      stacks.find((s) => p.ChangeSetName !== undefined && s.changeSetId() === p.ChangeSetName);
    if (found) return found;
    if (action !== "CreateChangeSet") throw new AwsError(notFound(name));
    const created = makeStack(name, {});
    stacks.push(created);
    return created;
  }

  const STACK_ACTIONS = [
    "DescribeStacks",
    "DescribeStackEvents",
    "CreateChangeSet",
    "DescribeChangeSet",
    "ExecuteChangeSet",
    "DeleteChangeSet",
    "DeleteStack",
    "ListStackResources",
  ];
  const cloudformation: Record<string, (p: Record<string, string>) => object> = {
    ...Object.fromEntries(
      STACK_ACTIONS.map((action) => [
        action,
        (p: Record<string, string>) => stackFor(action, p).handlers[action]!(p),
      ]),
    ),
    // Exports of the stacks whose last operation succeeded (one still being created has none).
    ListExports: () => ({
      Exports: stacks
        .filter((s) => s.complete())
        .flatMap((s) =>
          Object.entries(s.exports).map(([Name, Value]) => ({
            ExportingStackId: s.stackId,
            Name,
            Value,
          })),
        ),
    }),
    // As CloudFormation: the stacks that still import the export, or an error when none does.
    ListImports: (p) => {
      const importers = stacks
        .filter((s) => s.live() && s.imports.includes(p.ExportName ?? ""))
        .map((s) => s.stackName);
      if (importers.length === 0) {
        throw new AwsError({
          status: 400,
          code: "ValidationError",
          message: `Export '${p.ExportName}' is not imported by any stack.`,
        });
      }
      return { Imports: importers };
    },
  };

  const elasticloadbalancing: Record<string, (p: Record<string, string>) => object> = {
    ModifyLoadBalancerAttributes: (p) => {
      const arn = p.LoadBalancerArn ?? "";
      if (!liveLoadBalancers.has(arn)) {
        throw new AwsError({
          status: 400,
          code: "LoadBalancerNotFound",
          message: "One or more load balancers not found",
        });
      }
      const attributes: Array<{ Key: string; Value: string }> = [];
      for (let i = 1; p[`Attributes.member.${i}.Key`] !== undefined; i++) {
        attributes.push({
          Key: p[`Attributes.member.${i}.Key`]!,
          Value: p[`Attributes.member.${i}.Value`] ?? "",
        });
      }
      if (attributes.length === 0) {
        throw new AwsError({
          status: 400,
          code: "ValidationError",
          message:
            "1 validation error detected: Value null at 'attributes' failed to satisfy constraint: Member must not be null",
        });
      }
      for (const { Key, Value } of attributes) {
        if (Key !== "deletion_protection.enabled") continue;
        if (Value !== "true" && Value !== "false") {
          throw new AwsError({
            status: 400,
            code: "InvalidConfigurationRequest",
            message: `'${Value}' is not a valid value for 'deletion_protection.enabled'`,
          });
        }
        if (Value === "true") protectedLoadBalancers.add(arn);
        else protectedLoadBalancers.delete(arn);
      }
      return { Attributes: attributes };
    },
  };

  function answerQuery(res: ServerResponse, service: string, action: string, result: object) {
    res
      .writeHead(200, { "content-type": "text/xml" })
      .end(
        `<${action}Response xmlns="${NAMESPACES[service]}"><${action}Result>${xml(result)}</${action}Result>` +
          `<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></${action}Response>`,
      );
  }

  function answerError(res: ServerResponse, service: string, e: FakeError) {
    const body =
      service === "s3"
        ? `<Error><Code>${e.code}</Code><Message>${xml(e.message)}</Message></Error>`
        : `<ErrorResponse><Error><Type>Sender</Type><Code>${e.code}</Code><Message>${xml(e.message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`;
    res.writeHead(e.status, { "content-type": "text/xml" }).end(body);
  }

  /** S3, path-style: the SDK uses it for an IP-address endpoint. */
  function s3(
    req: IncomingMessage,
    url: URL,
    body: string,
  ): { action: string; run: (res: ServerResponse) => void } {
    const [bucket = "", ...rest] = url.pathname.slice(1).split("/");
    const key = decodeURIComponent(rest.join("/"));
    const missing = () => {
      throw new AwsError({
        status: 404,
        code: "NoSuchBucket",
        message: "The specified bucket does not exist",
      });
    };
    if (req.method === "HEAD" && !key) {
      return {
        action: "HeadBucket",
        run: (res) => {
          if (!buckets.has(bucket) && !scenario.bucketExists) res.writeHead(404).end();
          else res.writeHead(200).end();
        },
      };
    }
    if (req.method === "PUT" && !key && url.searchParams.has("publicAccessBlock")) {
      return {
        action: "PutPublicAccessBlock",
        run: (res) => {
          if (!buckets.has(bucket)) missing();
          if (!/<BlockPublicPolicy>true</.test(body)) {
            throw new AwsError({
              status: 400,
              code: "MalformedXML",
              message: "expected a full block",
            });
          }
          res.writeHead(200).end();
        },
      };
    }
    if (req.method === "PUT" && !key) {
      return {
        action: "CreateBucket",
        run: (res) => {
          buckets.add(bucket);
          res.writeHead(200, { location: `/${bucket}` }).end();
        },
      };
    }
    if (req.method === "PUT") {
      return {
        action: "PutObject",
        run: (res) => {
          if (!buckets.has(bucket) && !scenario.bucketExists) missing();
          objects.set(`${bucket}/${key}`, body);
          res.writeHead(200, { etag: '"0"' }).end();
        },
      };
    }
    return {
      action: `${req.method} ${url.pathname}`,
      run: () => {
        throw new AwsError({ status: 501, code: "NotImplemented", message: "not in the fake" });
      },
    };
  }

  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString("utf8");
    const url = new URL(req.url ?? "/", "http://fake");
    // The signing scope names the service: Credential=AKID/date/region/<service>/aws4_request.
    const service = /Credential=[^/]+\/[^/]+\/[^/]+\/([^/]+)\//.exec(
      req.headers.authorization ?? "",
    )?.[1];
    let action: string;
    let params: Record<string, string> = {};
    let run: (res: ServerResponse) => void;
    if (service === "s3") {
      ({ action, run } = s3(req, url, body));
      params = { path: url.pathname };
    } else if (service !== undefined && service in VERSIONS) {
      params = Object.fromEntries(new URLSearchParams(body));
      action = params.Action ?? "";
      const handlers: Record<string, Record<string, (p: Record<string, string>) => object>> = {
        cloudformation,
        elasticloadbalancing,
        sts: {
          GetCallerIdentity: () => ({
            Account: "123456789012",
            Arn: "arn:aws:iam::123456789012:user/test",
            UserId: "AIDATEST",
          }),
        },
      };
      const handler = handlers[service]?.[action];
      const version = params.Version;
      run = (r) => {
        if (!handler || version !== VERSIONS[service])
          throw new AwsError({
            status: 400,
            code: "InvalidAction",
            message: `${action} (version ${version}) is not in the fake`,
          });
        answerQuery(r, service, action, handler(params));
      };
    } else {
      res.writeHead(403).end("unsigned request");
      return;
    }
    calls.push({ service, action, params });
    const nth = (counts.get(action) ?? 0) + 1;
    counts.set(action, nth);
    // Accepted, never answered: the socket stays open until the client gives up (or close()).
    if (scenario.hang?.[action]?.includes(nth)) return;
    if (scenario.stall?.[action]?.includes(nth)) {
      res.writeHead(200, { "content-type": "text/xml" }).write(`<${action}Response>`);
      return;
    }
    try {
      const fault = faults.get(action)?.shift();
      if (fault) throw new AwsError(fault);
      run(res);
    } catch (error) {
      if (!(error instanceof AwsError)) throw error;
      answerError(res, service, error.error);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    actions: () => calls.map((c) => c.action),
    objects,
    protectedLoadBalancers,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
