import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { AwsSolutionsChecks } from "cdk-nag";
import { createPiecesApp, PIECES_DIR, synthesizePieceTemplates } from "../lib/app.js";
import { GUARD_NAMESPACE } from "../lib/guard.js";
import { ONE_SHOT_PARAMETERS } from "../lib/parameters.js";
import { PIECE_CATALOG } from "../lib/piece-catalog.js";
import { PIECES, type PieceDefinition } from "../lib/pieces.js";
import {
  ResolutionError,
  type ResolvedStack,
  resolveStack,
  stringsIn,
} from "./support/cloudformation.js";
import { auditAcknowledgements } from "./support/nag.js";
import { parametersOf, pieceTemplate, resolvePieces } from "./support/pieces.js";
import {
  AMI_PARAMETER,
  exampleParameters,
  resolve,
  template,
  variantParameters,
} from "./support/stacks.js";

const dirs: string[] = [];
function outdir(): string {
  const dir = mkdtempSync(join(tmpdir(), "fleetline-pieces-"));
  dirs.push(dir);
  return dir;
}
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const piecesDir = new URL(`../../cloudformation/${PIECES_DIR}/`, import.meta.url);

describe("committed pieces", () => {
  // Once with every check on (cdk-nag, cfn-guard and the CDK's schema validation: any finding or
  // error throws), compared byte for byte; a second, faster synthesis checks determinism.
  const dir = outdir();
  const first = synthesizePieceTemplates({ outdir: dir });

  test("match what infra/ synthesizes (run `npm run synth` and commit when this fails)", () => {
    for (const piece of PIECES) {
      const committed = readFileSync(new URL(piece.file, piecesDir), "utf8");
      assert.ok(committed === first[piece.file], `cloudformation/pieces/${piece.file} has drifted`);
    }
    assert.deepEqual(
      readdirSync(piecesDir).sort(),
      PIECES.map((p) => p.file).sort(),
      "a file in cloudformation/pieces/ is not a piece",
    );
  });

  test("synthesize to identical bytes twice", () => {
    const second = synthesizePieceTemplates({ outdir: outdir(), cloudFormationValidation: false });
    assert.deepEqual(Object.keys(second), Object.keys(first));
    for (const file of Object.keys(first)) assert.ok(second[file] === first[file], file);
  });

  test("at least five, named NN-<name> in deploy order, bring-your-own ones beside theirs", () => {
    // The CLI reads the CDK-free catalog: the same pieces, in the same order.
    assert.deepEqual(
      PIECES.map((p) => [p.file, p.name, p.stackSuffix, p.replaces]),
      PIECE_CATALOG.map((p) => [p.file, p.name, p.stackSuffix, p.replaces]),
    );
    const defaults = PIECES.filter((p) => p.replaces === undefined);
    assert.ok(defaults.length >= 5);
    assert.deepEqual(
      defaults.map((p) => p.file),
      [
        "01-network.template.json",
        "02-data.template.json",
        "03-cache.template.json",
        "04-fleet.template.json",
        "05-delivery.template.json",
      ],
    );
    for (const p of PIECES.filter((x) => x.replaces !== undefined)) {
      const replaced = PIECES.find((x) => x.name === p.replaces)!;
      assert.equal(p.file, replaced.file.replace(".template.json", ".existing.template.json"));
      assert.equal(p.stackSuffix, replaced.stackSuffix);
    }
  });

  test("cfn-guard ran on every piece: no finding left unacknowledged", () => {
    const report = JSON.parse(readFileSync(join(dir, "validation-report.json"), "utf8")) as {
      pluginReports: Array<{
        pluginName: string;
        conclusion: string;
        violations: unknown[];
        suppressedViolations?: Array<{ reason?: string }>;
      }>;
    };
    const guard = report.pluginReports.find((p) => p.pluginName === GUARD_NAMESPACE);
    assert.ok(guard);
    assert.equal(guard.conclusion, "success");
    assert.deepEqual(guard.violations, []);
    assert.ok((guard.suppressedViolations ?? []).length > 0, "the check is live");
    for (const s of guard.suppressedViolations ?? []) assert.match(s.reason ?? "", /^CT\./);
  });
});

describe("cdk-nag on the pieces", () => {
  test("zero unacknowledged findings, and every acknowledgement still matches one", () => {
    const { app } = createPiecesApp({ outdir: outdir(), nag: false, guard: false });
    assert.deepEqual(
      new AwsSolutionsChecks().validateScope(app).violations.map((v) => v.ruleName),
      [],
    );
    const { findings, stale } = auditAcknowledgements(app);
    assert.deepEqual(stale, [], "stale acknowledgements");
    assert.ok(findings.length > 0, "the check is live");
  });
});

describe("parameters", () => {
  test("each piece declares only what it reads, every one a one-shot parameter or an Existing* one", () => {
    const oneShot = Object.keys(template.Parameters ?? {});
    assert.deepEqual(oneShot, [...ONE_SHOT_PARAMETERS]);
    const used = new Set<string>();
    for (const piece of PIECES) {
      const t = pieceTemplate(piece);
      const declared = Object.keys(t.Parameters ?? {});
      assert.deepEqual(
        declared,
        [...piece.parameters].sort((a, b) => order(a) - order(b)),
      );
      const text = JSON.stringify({ ...t, Parameters: undefined, Metadata: undefined });
      for (const name of declared) {
        // Read somewhere: a Ref, a Fn::Sub variable, or a condition's Ref.
        assert.ok(
          text.includes(`{"Ref":"${name}"}`) || text.includes(`\${${name}}`),
          `${piece.file} declares ${name} and never reads it`,
        );
        if (piece.replaces === undefined) used.add(name);
        else assert.ok(oneShot.includes(name) || name.startsWith("Existing"), name);
      }
      // The console form shows only this piece's parameters.
      const groups = (
        t as { Metadata?: Record<string, { ParameterGroups: Array<{ Parameters: string[] }> }> }
      ).Metadata?.["AWS::CloudFormation::Interface"]?.ParameterGroups;
      assert.deepEqual(groups?.flatMap((g) => g.Parameters).sort(), [...declared].sort());
    }
    // Together the default pieces read every parameter of the one shot.
    assert.deepEqual([...used].sort(), [...oneShot].sort());
  });
});

function order(name: string): number {
  const all = [...ONE_SHOT_PARAMETERS, ...PIECES.flatMap((p) => p.parameters)];
  return all.indexOf(name as never);
}

const DEPLOYMENTS = [
  { region: "eu-west-3", accountId: "111122223333", set: "example" },
  { region: "us-west-2", accountId: "444455556666", set: "variant" },
] as const;

function parametersFor(set: "example" | "variant", accountId: string): Record<string, string> {
  return set === "example" ? { ...exampleParameters } : variantParameters(accountId);
}

describe("the pieces as CloudFormation resolves them, one after the other", () => {
  for (const { region, accountId, set } of DEPLOYMENTS) {
    test(`resolve in order in ${region} (${set} parameters), each import exported by an earlier piece`, () => {
      const parameters = parametersFor(set, accountId);
      const pieces = resolvePieces({ region, accountId, parameters });
      assert.deepEqual(
        pieces.map((p) => p.stackName),
        ["network", "data", "cache", "fleet", "delivery"].map(
          (s) => `${parameters.AppName}-${parameters.EnvName}-${s}`,
        ),
      );
      const exportedBefore = new Set<string>();
      for (const { piece, stack, imports } of pieces) {
        for (const name of imports) {
          assert.ok(exportedBefore.has(name), `${piece.file} imports ${name}, not exported before`);
        }
        for (const name of Object.keys(stack.exports)) {
          assert.ok(name.startsWith(`${parameters.AppName}-${parameters.EnvName}-`), name);
          exportedBefore.add(name);
        }
      }
      // Every later piece depends on an earlier one, so none can be created out of order.
      for (const { piece, imports } of pieces.slice(2)) {
        assert.ok(imports.length > 0, `${piece.file} imports nothing`);
      }
    });
  }

  test("a piece deployed before the one it imports from is refused, naming the export", () => {
    const [network] = resolvePieces({
      region: "eu-west-3",
      accountId: "111122223333",
      parameters: exampleParameters,
    });
    // 04-fleet right after 01-network: 02-data and 03-cache are missing.
    assert.throws(
      () => resolveAlone("04-fleet.template.json", network!.stack.exports),
      (error: unknown) =>
        error instanceof ResolutionError &&
        /no stack exports fleetline-prod-(UsersTable|Cache)/.test(error.message),
    );
  });

  for (const { region, accountId, set } of DEPLOYMENTS) {
    test(`together they create what the one shot creates (${region}, ${set} parameters)`, () => {
      const parameters = parametersFor(set, accountId);
      // Stack names unlike any resource's (`<app>-<env>-cache` would be mistaken for the start of
      // the cache subnets' names), so that only the stacks' own names become «stack».
      const oneShot = resolve({
        stackName: "OneShot",
        region,
        accountId,
        parameters,
      });
      const pieces = resolvePieces({ region, accountId, parameters, stackName: layered });
      const a = normalised([oneShot]);
      const b = normalised(pieces.map((p) => p.stack));
      assert.deepEqual(typeCounts(b), typeCounts(a));
      assert.deepEqual(Object.keys(b).sort(), Object.keys(a).sort());
      for (const id of Object.keys(a)) assert.deepEqual(b[id], a[id], id);
      // Outputs: every one of the one shot's, with the same value, in some piece.
      const outputs = normaliser([oneShot]);
      const pieceOutputs = normaliser(pieces.map((p) => p.stack));
      for (const [name, value] of Object.entries(oneShot.outputs)) {
        const found = pieces.find((p) => name in p.stack.outputs);
        assert.ok(found, `output ${name} is in no piece`);
        assert.deepEqual(pieceOutputs(found.stack.outputs[name]), outputs(value), name);
      }
    });
  }

  test("the comparison sees a property that differs", () => {
    const parameters = { ...exampleParameters };
    const oneShot = resolve({
      stackName: "OneShot",
      region: "eu-west-3",
      accountId: "111122223333",
      parameters,
    });
    const pieces = resolvePieces({
      region: "eu-west-3",
      accountId: "111122223333",
      parameters,
      stackName: layered,
    });
    const smaller = resolvePieces({
      stackName: layered,
      region: "eu-west-3",
      accountId: "111122223333",
      parameters: { ...parameters, CacheNodeType: "cache.t4g.small" },
    });
    const a = normalised([oneShot]);
    assert.deepEqual(
      normalised(pieces.map((p) => p.stack)).CacheReplicationGroupBFE59FF3,
      a.CacheReplicationGroupBFE59FF3,
    );
    assert.notDeepEqual(
      normalised(smaller.map((p) => p.stack)).CacheReplicationGroupBFE59FF3,
      a.CacheReplicationGroupBFE59FF3,
    );
  });
});

describe("bring your own network and table", () => {
  const accountId = "111122223333";
  const mine = {
    ExistingVpcId: "vpc-0123456789abcdef0",
    ExistingVpcCidr: "172.31.0.0/16",
    ExistingPublicSubnetIds: "subnet-0aaa0000000000001,subnet-0aaa0000000000002",
    ExistingAppSubnetIds: "subnet-0bbb0000000000001,subnet-0bbb0000000000002",
    ExistingAppSubnetCidrs: "172.31.32.0/20,172.31.48.0/20",
    ExistingCacheSubnetIds: "subnet-0ccc0000000000001,subnet-0ccc0000000000002",
    ExistingTableName: "legacy-users",
  };
  const [pub1, pub2] = mine.ExistingPublicSubnetIds.split(",");
  const [app1, app2] = mine.ExistingAppSubnetIds.split(",");

  for (const InstanceSubnets of ["public", "private"]) {
    test(`the later pieces run in the given VPC, subnets and table (InstanceSubnets=${InstanceSubnets})`, () => {
      const pieces = resolvePieces({
        region: "eu-west-3",
        accountId,
        parameters: { ...exampleParameters, ...mine, InstanceSubnets },
        existing: { network: true, data: true },
      });
      assert.deepEqual(
        pieces.map((p) => p.piece.file),
        [
          "01-network.existing.template.json",
          "02-data.existing.template.json",
          "03-cache.template.json",
          "04-fleet.template.json",
          "05-delivery.template.json",
        ],
      );
      // The bring-your-own pieces create nothing but their placeholder.
      for (const p of pieces.slice(0, 2)) {
        assert.deepEqual(
          Object.values(p.stack.resources).map((r) => r.type),
          ["AWS::CloudFormation::WaitConditionHandle"],
        );
      }
      const all = Object.assign(
        {},
        ...pieces.map((p) => p.stack.resources),
      ) as ResolvedStack["resources"];
      const ofType = (type: string) => Object.values(all).filter((r) => r.type === type);
      assert.equal(ofType("AWS::EC2::VPC").length, 0);
      assert.equal(ofType("AWS::DynamoDB::Table").length, 0);
      const [group] = ofType("AWS::AutoScaling::AutoScalingGroup");
      assert.deepEqual(
        group!.properties.VPCZoneIdentifier,
        InstanceSubnets === "private" ? [app1, app2] : [pub1, pub2],
      );
      const [alb] = ofType("AWS::ElasticLoadBalancingV2::LoadBalancer");
      assert.deepEqual(alb!.properties.Subnets, [app1, app2]);
      const [subnetGroup] = ofType("AWS::ElastiCache::SubnetGroup");
      assert.deepEqual(subnetGroup!.properties.SubnetIds, mine.ExistingCacheSubnetIds.split(","));
      for (const sg of ofType("AWS::EC2::SecurityGroup")) {
        assert.equal(sg.properties.VpcId, mine.ExistingVpcId);
      }
      const lbGroup = ofType("AWS::EC2::SecurityGroup").find((sg) =>
        String(sg.properties.GroupDescription).startsWith("Internal load balancer"),
      );
      assert.deepEqual(
        (lbGroup!.properties.SecurityGroupIngress as Array<{ CidrIp: string }>).map(
          (r) => r.CidrIp,
        ),
        mine.ExistingAppSubnetCidrs.split(","),
      );
      const strings = stringsIn(Object.values(all).map((r) => r.properties)).map((s) => s.value);
      assert.ok(
        strings.some((s) =>
          s.includes("arn:aws:dynamodb:eu-west-3:111122223333:table/legacy-users"),
        ),
      );
      const userData = Buffer.from(
        (
          ofType("AWS::EC2::LaunchTemplate")[0]!.properties.LaunchTemplateData as {
            UserData: string;
          }
        ).UserData,
        "base64",
      ).toString("utf8");
      assert.match(userData, /\nFL_USERS_TABLE='legacy-users'\n/);
      assert.match(userData, /\nFL_VPC_CIDR='172\.31\.0\.0\/16'\n/);
    });
  }
});

/** Resolves one piece alone with the given exports (to show a missing one is refused). */
function resolveAlone(file: string, exports: Readonly<Record<string, string>>): ResolvedStack {
  const t = pieceTemplate(PIECES.find((p) => p.file === file)!);
  return resolveStack(t, {
    stackName: "fleetline-prod-fleet",
    region: "eu-west-3",
    accountId: "111122223333",
    parameters: parametersOf(t, exampleParameters),
    ssmParameters: { [AMI_PARAMETER]: "ami-0a1b2c3d4e5f60718" },
    exports,
  });
}

const layered = (piece: PieceDefinition): string => `Layered-${piece.stackSuffix}`;

function typeCounts(resources: Record<string, { type: string }>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of Object.values(resources)) counts[r.type] = (counts[r.type] ?? 0) + 1;
  return Object.fromEntries(Object.entries(counts).sort(([x], [y]) => x.localeCompare(y)));
}

/**
 * A function that rewrites every deploy-time identity in a value into a placeholder: each
 * resource's Ref and attributes (`«LogicalId»`, `«LogicalId.Attr»`), the stack's name and id. Two
 * sets of stacks made of the same resources then give equal values wherever they agree.
 */
function normaliser(stacks: readonly ResolvedStack[]): (value: unknown) => unknown {
  const pairs: Array<[string, string]> = [];
  for (const stack of stacks) {
    const stackId = String(stack.resolve({ Ref: "AWS::StackId" }));
    const uuid = stackId.split("/")[2]!;
    pairs.push(
      [stackId, "«stack-id»"],
      [uuid, "«stack-uuid»"],
      [uuid.split("-")[0]!, "«stack-uuid-block»"],
    );
    pairs.push([stack.context.stackName, "«stack»"]);
    for (const [id, r] of Object.entries(stack.resources)) {
      pairs.push([r.ref, `«${id}»`]);
      for (const [attribute, value] of Object.entries(stack.attributes(id))) {
        if (typeof value === "string" && value !== "") pairs.push([value, `«${id}.${attribute}»`]);
      }
    }
  }
  // Longest first, so an ARN is replaced whole before the name inside it.
  pairs.sort(([x], [y]) => y.length - x.length);
  const rewrite = (value: unknown): unknown => {
    if (typeof value === "string") {
      let text = value;
      for (const [from, to] of pairs) if (from.length > 3) text = text.split(from).join(to);
      return text;
    }
    if (Array.isArray(value)) return value.map(rewrite);
    if (value !== null && typeof value === "object") {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rewrite(v)]));
    }
    return value;
  };
  return rewrite;
}

/**
 * The resources of `stacks` by logical id, properties normalised: user data decoded, and the
 * standalone security-group rules folded into their group's rule list (the one shot writes the
 * cache's rule inline, a piece whose group is imported writes it as its own resource; the CDK
 * names cross-construct rules after the stack, so their logical ids differ between apps).
 */
function normalised(
  stacks: readonly ResolvedStack[],
): Record<string, { type: string; properties: unknown }> {
  const rewrite = normaliser(stacks);
  const out: Record<string, { type: string; properties: Record<string, unknown> }> = {};
  const rules: Array<{ type: string; properties: Record<string, unknown> }> = [];
  for (const stack of stacks) {
    for (const [id, r] of Object.entries(stack.resources)) {
      const properties = structuredClone(r.properties);
      if (r.type === "AWS::EC2::LaunchTemplate") {
        const data = properties.LaunchTemplateData as { UserData: string };
        data.UserData = Buffer.from(data.UserData, "base64").toString("utf8");
      }
      const entry = { type: r.type, properties: rewrite(properties) as Record<string, unknown> };
      if (
        r.type === "AWS::EC2::SecurityGroupIngress" ||
        r.type === "AWS::EC2::SecurityGroupEgress"
      ) {
        rules.push(entry);
      } else {
        out[id] = entry;
      }
    }
  }
  for (const rule of rules) {
    const { GroupId, ...rest } = rule.properties;
    const owner = String(GroupId).replace(/^«(.+?)(\.GroupId)?»$/, "$1");
    const group = out[owner];
    assert.ok(group, `rule on unknown group ${String(GroupId)}`);
    const key = rule.type.endsWith("Ingress") ? "SecurityGroupIngress" : "SecurityGroupEgress";
    const list = (group.properties[key] as unknown[] | undefined) ?? [];
    group.properties[key] = [...list, rest];
  }
  for (const group of Object.values(out)) {
    for (const key of ["SecurityGroupIngress", "SecurityGroupEgress"]) {
      const list = group.properties[key] as unknown[] | undefined;
      if (list)
        group.properties[key] = [...list].sort((x, y) =>
          JSON.stringify(x).localeCompare(JSON.stringify(y)),
        );
    }
  }
  return out;
}
