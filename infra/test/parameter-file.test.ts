import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import {
  checkParameters,
  parseParameterFile,
  type TemplateParameters,
} from "../scripts/parameter-file.js";

// The committed template is the source of truth for names, defaults and constraints; these tests
// check the validator against it, so a parameter renamed in infra/ shows up here too.
const template = JSON.parse(
  readFileSync(new URL("../../cloudformation/fleetline.template.json", import.meta.url), "utf8"),
) as { Parameters: TemplateParameters };
const exampleText = readFileSync(
  new URL("../../cloudformation/parameters.example.json", import.meta.url),
  "utf8",
);

const required = {
  OperatorEmail: "ops@example.com",
  ConnectionArn:
    "arn:aws:codeconnections:eu-west-3:123456789012:connection/11111111-2222-3333-4444-555555555555",
  RepositoryOwner: "octo-org",
};

function check(text: string): string[] {
  const parsed = parseParameterFile(text);
  if (parsed.errors.length > 0) return parsed.errors;
  return checkParameters(parsed.entries, template.Parameters).errors;
}

/** A file in the plain-object shape: the required values plus `overrides`. */
function file(overrides: Record<string, unknown>): string {
  return JSON.stringify({ ...required, ...overrides });
}

describe("parameter files", () => {
  test("the committed example is valid and names every template parameter", () => {
    assert.deepEqual(check(exampleText), []);
    const keys = parseParameterFile(exampleText).entries.map((e) => e.key);
    assert.deepEqual([...keys].sort(), Object.keys(template.Parameters).sort());
  });

  test("a file with only the required values is valid and takes the defaults", () => {
    const parsed = parseParameterFile(file({}));
    const result = checkParameters(parsed.entries, template.Parameters);
    assert.deepEqual(result.errors, []);
    assert.equal(result.values.InstanceType, "t4g.micro");
    assert.equal(result.values.CacheEngine, "valkey");
    assert.equal(result.values.DeploymentStrategy, "OneAtATime");
    assert.deepEqual([...result.given].sort(), Object.keys(required).sort());
  });

  test("the AWS CLI array shape is accepted too", () => {
    const text = JSON.stringify(
      Object.entries(required).map(([ParameterKey, ParameterValue]) => ({
        ParameterKey,
        ParameterValue,
      })),
    );
    assert.deepEqual(check(text), []);
  });

  const bad: ReadonlyArray<readonly [string, string, string[]]> = [
    // The JSON.parse wording differs across Node versions; only the prefix is checked below.
    ["not JSON", "{ OperatorEmail: ops }", []],
    [
      "a JSON string",
      '"OperatorEmail=ops@example.com"',
      [
        'parameters file: expected a JSON array of {"ParameterKey", "ParameterValue"} objects or an object of name → value',
      ],
    ],
    [
      "array entry without a key",
      JSON.stringify([{ ParameterValue: "x" }]),
      ["entry 1: ParameterKey is missing or not a string"],
    ],
    [
      "array entry without a value",
      JSON.stringify([{ ParameterKey: "OperatorEmail" }]),
      ["OperatorEmail: ParameterValue is missing"],
    ],
    [
      "array entry with UsePreviousValue",
      JSON.stringify([{ ParameterKey: "AppName", ParameterValue: "x", UsePreviousValue: true }]),
      [
        'AppName: unsupported field "UsePreviousValue"; expected only ParameterKey and ParameterValue',
      ],
    ],
    [
      "a value that is an object",
      file({ MinSize: { value: 2 } }),
      ['MinSize: value {"value":2} is not a string; expected a string such as "2"'],
    ],
    [
      "misspelled name",
      file({ OperatorEmal: "x@example.com" }),
      ["OperatorEmal: unknown parameter; did you mean OperatorEmail?"],
    ],
    [
      "unknown name far from any other",
      file({ Colour: "blue" }),
      [`Colour: unknown parameter; expected one of ${Object.keys(template.Parameters).join(", ")}`],
    ],
    [
      "missing required e-mail",
      JSON.stringify({ ConnectionArn: required.ConnectionArn, RepositoryOwner: "octo-org" }),
      ["OperatorEmail: required (no default); expected an e-mail address such as ops@example.com"],
    ],
    [
      "malformed e-mail",
      file({ OperatorEmail: "ops-at-example.com" }),
      [
        'OperatorEmail: "ops-at-example.com" is not valid; expected an e-mail address such as ops@example.com',
      ],
    ],
    [
      "GitHub personal token instead of a connection ARN",
      file({ ConnectionArn: "ghp_0123456789abcdef" }),
      [
        'ConnectionArn: "ghp_0123456789abcdef" is not valid; expected a connection ARN such as arn:aws:codeconnections:us-east-1:123456789012:connection/<uuid>',
      ],
    ],
    [
      "certificate ARN of another service",
      file({ CertificateArn: "arn:aws:iam::123456789012:server-certificate/site" }),
      [
        'CertificateArn: "arn:aws:iam::123456789012:server-certificate/site" is not valid; expected empty, or an ACM certificate ARN in us-east-1 such as arn:aws:acm:us-east-1:123456789012:certificate/<uuid>',
      ],
    ],
    [
      "x86 instance type (the image is arm64)",
      file({ InstanceType: "t3.micro" }),
      [
        'InstanceType: "t3.micro" is not allowed; expected one of t4g.micro, t4g.small, t4g.medium, t4g.large, m7g.medium, m7g.large, c7g.medium, c7g.large',
      ],
    ],
    [
      "T2 cache node (can no longer be created)",
      file({ CacheNodeType: "cache.t2.micro" }),
      [
        'CacheNodeType: "cache.t2.micro" is not allowed; expected one of cache.t4g.micro, cache.t4g.small, cache.t4g.medium, cache.t3.micro, cache.t3.small, cache.t3.medium, cache.m7g.large',
      ],
    ],
    [
      "deployment strategy spelled as the full config name",
      file({ DeploymentStrategy: "CodeDeployDefault.OneAtATime" }),
      [
        'DeploymentStrategy: "CodeDeployDefault.OneAtATime" is not allowed; expected one of OneAtATime, HalfAtATime, AllAtOnce',
      ],
    ],
    [
      "upper-case app name",
      file({ AppName: "Fleetline" }),
      [
        'AppName: "Fleetline" is not valid; expected 2 to 15 lower-case letters or digits, starting with a letter',
      ],
    ],
    [
      "size that is not a number",
      file({ MaxSize: "four" }),
      ['MaxSize: "four" is not a number; expected a number'],
    ],
    [
      "size below the minimum",
      file({ MinSize: "0", DesiredCapacity: "1" }),
      ["MinSize: 0 is below the minimum 1"],
    ],
    ["size above the maximum", file({ MaxSize: 50 }), ["MaxSize: 50 is above the maximum 20"]],
    [
      "log retention CloudWatch does not offer",
      file({ LogRetentionDays: "45" }),
      [
        'LogRetentionDays: "45" is not allowed; expected one of 1, 3, 5, 7, 14, 30, 60, 90, 180, 365',
      ],
    ],
    [
      "desired above max",
      file({ DesiredCapacity: "6" }),
      ["DesiredCapacity: 6 is above MaxSize 4; expected MinSize ≤ DesiredCapacity ≤ MaxSize"],
    ],
    [
      "min above max",
      file({ MinSize: "5", DesiredCapacity: "5", MaxSize: "3" }),
      [
        "MinSize: 5 is above MaxSize 3; expected MinSize ≤ DesiredCapacity ≤ MaxSize",
        "DesiredCapacity: 5 is above MaxSize 3; expected MinSize ≤ DesiredCapacity ≤ MaxSize",
      ],
    ],
    [
      "fixed-size fleet (a rolling update could not add an instance)",
      file({ MinSize: "3", DesiredCapacity: "3", MaxSize: "3" }),
      [
        "MaxSize: 3 equals MinSize; expected MaxSize above MinSize (a rolling update keeps MinSize instances in service and adds one)",
      ],
    ],
    [
      "image given as an AMI id instead of an SSM path",
      file({ LatestAmiId: "ami-0123 4567" }),
      [
        'LatestAmiId: "ami-0123 4567" is not an SSM parameter name; expected a path such as /aws/service/…',
      ],
    ],
  ];

  for (const [name, text, expected] of bad) {
    test(`rejects ${name}`, () => {
      const errors = check(text);
      if (name === "not JSON") {
        // The JSON.parse message differs across Node versions after the position; the prefix
        // is what the user reads first.
        assert.equal(errors.length, 1);
        assert.match(errors[0]!, /^parameters file: not valid JSON \(/);
        return;
      }
      assert.deepEqual(errors, expected);
    });
  }

  test("a name given twice is reported once, naming it", () => {
    const text = JSON.stringify([
      ...Object.entries(required).map(([ParameterKey, ParameterValue]) => ({
        ParameterKey,
        ParameterValue,
      })),
      { ParameterKey: "AppName", ParameterValue: "a1" },
      { ParameterKey: "AppName", ParameterValue: "b2" },
    ]);
    assert.deepEqual(check(text), [
      "AppName: given more than once; expected each parameter at most once",
    ]);
  });
});
