/**
 * cdk-nag acknowledgements of an app, and the AwsSolutions findings they answer: one audit for
 * the one-shot app (template.test.ts) and the pieces' (pieces.test.ts).
 */
import { Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import type { IConstruct } from "constructs";

/** An AwsSolutions rule acknowledged on a construct (`Validations.of(x).acknowledge`). */
export interface Acknowledgement {
  readonly path: string;
  /** The rule id, e.g. `AwsSolutions-IAM5` (without cdk-nag's `annotation::` prefix). */
  readonly id: string;
  readonly reason: string;
}

/** A finding of the pack: the rule and the construct it names. */
export interface NagFinding {
  readonly rule: string;
  readonly path: string;
}

/** Our AwsSolutions acknowledgements under `scope` (the CDK's own, for other rule packs, left out). */
export function nagAcknowledgements(scope: IConstruct): Acknowledgement[] {
  const acknowledged: Acknowledgement[] = [];
  for (const construct of scope.node.findAll()) {
    for (const entry of construct.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [raw, reason] of Object.entries(entry.data as Record<string, string>)) {
        const id = raw.replace(/^annotation::/i, "");
        if (id.startsWith("AwsSolutions-")) {
          acknowledged.push({ path: construct.node.path, id, reason });
        }
      }
    }
  }
  return acknowledged;
}

/** What the AwsSolutions pack finds under `scope` as if nothing were acknowledged. */
export function findingsIgnoringAcknowledgements(scope: IConstruct): NagFinding[] {
  // The pack reads the metadata key at check time: point it elsewhere for one run.
  const holder = Validations as unknown as { ACKNOWLEDGED_RULES_METADATA_KEY: string };
  const key = holder.ACKNOWLEDGED_RULES_METADATA_KEY;
  holder.ACKNOWLEDGED_RULES_METADATA_KEY = "fleetline:test:no-acknowledgements";
  try {
    return new AwsSolutionsChecks()
      .validateScope(scope)
      .violations.flatMap((v) =>
        v.violatingResources.map((r) => ({ rule: v.ruleName, path: r.constructPath ?? "" })),
      );
  } finally {
    holder.ACKNOWLEDGED_RULES_METADATA_KEY = key;
  }
}

/** True when `a` answers `f`: the same rule, on the construct or one below it. */
function covers(a: Acknowledgement, f: NagFinding): boolean {
  return f.rule === a.id && (f.path === a.path || f.path.startsWith(`${a.path}/`));
}

export interface NagAudit {
  readonly acknowledged: Acknowledgement[];
  /** Every finding with acknowledgements ignored (empty would mean the check is not live). */
  readonly findings: NagFinding[];
  /** Acknowledgements no finding needs any more. */
  readonly stale: Acknowledgement[];
  /** Findings no acknowledgement answers. */
  readonly uncovered: NagFinding[];
}

/** Acknowledgements against findings under `scope`: which are stale, which findings uncovered. */
export function auditAcknowledgements(scope: IConstruct): NagAudit {
  const acknowledged = nagAcknowledgements(scope);
  const findings = findingsIgnoringAcknowledgements(scope);
  return {
    acknowledged,
    findings,
    stale: acknowledged.filter((a) => !findings.some((f) => covers(a, f))),
    uncovered: findings.filter((f) => !acknowledged.some((a) => covers(a, f))),
  };
}
