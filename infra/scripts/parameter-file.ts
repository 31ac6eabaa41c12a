/**
 * Parameter files, checked locally against the template's own Parameters section before anything
 * is sent to AWS, so a typo costs a second instead of a failed change set. Pure: no I/O, no AWS.
 *
 * Two file shapes are accepted:
 *   - the AWS CLI's: `[{ "ParameterKey": "OperatorEmail", "ParameterValue": "ops@example.com" }]`
 *   - a plain object: `{ "OperatorEmail": "ops@example.com" }`
 * Each error names the parameter (or the entry) and says what is expected.
 */

/** A parameter as it appears in a CloudFormation template. */
export interface TemplateParameter {
  readonly Type: string;
  readonly Default?: string | number;
  readonly AllowedValues?: ReadonlyArray<string | number>;
  readonly AllowedPattern?: string;
  readonly ConstraintDescription?: string;
  readonly MinValue?: number;
  readonly MaxValue?: number;
  readonly MinLength?: number;
  readonly MaxLength?: number;
  readonly Description?: string;
}

export type TemplateParameters = Readonly<Record<string, TemplateParameter>>;

export interface ParameterEntry {
  readonly key: string;
  readonly value: string;
}

export interface ParsedParameterFile {
  readonly entries: ParameterEntry[];
  readonly errors: string[];
}

export interface ParameterCheck {
  /** Empty when the file can be deployed. */
  readonly errors: string[];
  /** Every template parameter with the value that will be used (given, else default). */
  readonly values: Readonly<Record<string, string>>;
  /** Names whose value comes from the file (the others use their default). */
  readonly given: ReadonlySet<string>;
}

function describe(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

/** Parses the file's text into entries; shape errors are reported, not thrown. */
export function parseParameterFile(text: string): ParsedParameterFile {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    return {
      entries: [],
      errors: [`parameters file: not valid JSON (${(error as Error).message})`],
    };
  }
  const entries: ParameterEntry[] = [];
  const errors: string[] = [];
  const scalar = (where: string, value: unknown): string | undefined => {
    if (typeof value === "string") return value;
    if (typeof value === "number" || typeof value === "boolean") return String(value);
    errors.push(
      `${where}: value ${describe(value)} is not a string; expected a string such as "2"`,
    );
    return undefined;
  };

  if (Array.isArray(data)) {
    data.forEach((item: unknown, i) => {
      const where = `entry ${i + 1}`;
      if (typeof item !== "object" || item === null || Array.isArray(item)) {
        errors.push(`${where}: expected an object {"ParameterKey": …, "ParameterValue": …}`);
        return;
      }
      const record = item as Record<string, unknown>;
      const key = record.ParameterKey;
      if (typeof key !== "string" || key === "") {
        errors.push(`${where}: ParameterKey is missing or not a string`);
        return;
      }
      for (const field of Object.keys(record)) {
        if (field !== "ParameterKey" && field !== "ParameterValue") {
          errors.push(
            `${key}: unsupported field "${field}"; expected only ParameterKey and ParameterValue`,
          );
        }
      }
      if (!("ParameterValue" in record)) {
        errors.push(`${key}: ParameterValue is missing`);
        return;
      }
      const value = scalar(key, record.ParameterValue);
      if (value !== undefined) entries.push({ key, value });
    });
  } else if (typeof data === "object" && data !== null) {
    for (const [key, raw] of Object.entries(data as Record<string, unknown>)) {
      const value = scalar(key, raw);
      if (value !== undefined) entries.push({ key, value });
    }
  } else {
    errors.push(
      'parameters file: expected a JSON array of {"ParameterKey", "ParameterValue"} objects or an object of name → value',
    );
  }
  return { entries, errors };
}

/** Levenshtein distance, for "did you mean" on unknown names. */
function distance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let previous = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const current = [i];
    for (let j = 1; j <= y.length; j++) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[y.length]!;
}

function expectation(definition: TemplateParameter): string {
  if (definition.ConstraintDescription) return definition.ConstraintDescription;
  if (definition.AllowedValues) return `one of ${definition.AllowedValues.join(", ")}`;
  if (definition.AllowedPattern) return `a value matching ${definition.AllowedPattern}`;
  if (definition.Type === "Number") return "a number";
  if (definition.Type.startsWith("AWS::SSM::Parameter::Value<")) return "an SSM parameter name";
  return "a string";
}

/** Checks one value against its definition; returns the error text or undefined. */
function checkValue(
  name: string,
  value: string,
  definition: TemplateParameter,
): string | undefined {
  const shown = describe(value);
  if (definition.Type === "Number") {
    if (value.trim() === "" || !Number.isFinite(Number(value))) {
      return `${name}: ${shown} is not a number; expected ${expectation(definition)}`;
    }
    const n = Number(value);
    if (definition.MinValue !== undefined && n < definition.MinValue) {
      return `${name}: ${value} is below the minimum ${definition.MinValue}`;
    }
    if (definition.MaxValue !== undefined && n > definition.MaxValue) {
      return `${name}: ${value} is above the maximum ${definition.MaxValue}`;
    }
  }
  if (
    definition.Type.startsWith("AWS::SSM::Parameter::Value<") &&
    !/^\/?[A-Za-z0-9_.\-/]+$/.test(value)
  ) {
    return `${name}: ${shown} is not an SSM parameter name; expected a path such as /aws/service/…`;
  }
  if (definition.AllowedValues && !definition.AllowedValues.map(String).includes(value)) {
    return `${name}: ${shown} is not allowed; expected one of ${definition.AllowedValues.join(", ")}`;
  }
  if (definition.AllowedPattern !== undefined) {
    // CloudFormation matches the whole value against the pattern.
    const pattern = new RegExp(`^(?:${definition.AllowedPattern})$`);
    if (!pattern.test(value)) {
      return `${name}: ${shown} is not valid; expected ${expectation(definition)}`;
    }
  }
  if (definition.MinLength !== undefined && value.length < definition.MinLength) {
    return `${name}: ${shown} is shorter than ${definition.MinLength} characters`;
  }
  if (definition.MaxLength !== undefined && value.length > definition.MaxLength) {
    return `${name}: ${shown} is longer than ${definition.MaxLength} characters`;
  }
  return undefined;
}

/**
 * Checks entries against the template's parameters: unknown names (with a suggestion), names
 * given twice, missing required values, types, allowed values, patterns (e-mail, ARNs), ranges,
 * and the fleet sizes' order (MinSize ≤ DesiredCapacity ≤ MaxSize, MinSize < MaxSize for rolling
 * updates), which CloudFormation itself only reports after creating half the stack.
 */
export function checkParameters(
  entries: readonly ParameterEntry[],
  parameters: TemplateParameters,
): ParameterCheck {
  const errors: string[] = [];
  const names = Object.keys(parameters);
  const given = new Set<string>();
  const values: Record<string, string> = {};

  for (const { key, value } of entries) {
    const definition = parameters[key];
    if (!definition) {
      const closest = [...names].sort((a, b) => distance(key, a) - distance(key, b))[0];
      const hint =
        closest !== undefined && distance(key, closest) <= 3 ? `did you mean ${closest}?` : "";
      errors.push(`${key}: unknown parameter; ${hint || `expected one of ${names.join(", ")}`}`);
      continue;
    }
    if (given.has(key)) {
      errors.push(`${key}: given more than once; expected each parameter at most once`);
      continue;
    }
    given.add(key);
    const error = checkValue(key, value, definition);
    if (error) errors.push(error);
    values[key] = value;
  }

  for (const name of names) {
    const definition = parameters[name]!;
    if (given.has(name)) continue;
    if (definition.Default === undefined) {
      errors.push(`${name}: required (no default); expected ${expectation(definition)}`);
    } else {
      values[name] = String(definition.Default);
    }
  }

  const size = (name: string): number | undefined => {
    const v = values[name];
    return v !== undefined && v.trim() !== "" && Number.isFinite(Number(v)) ? Number(v) : undefined;
  };
  const [min, desired, max] = [size("MinSize"), size("DesiredCapacity"), size("MaxSize")];
  if (min !== undefined && max !== undefined && min > max) {
    errors.push(
      `MinSize: ${min} is above MaxSize ${max}; expected MinSize ≤ DesiredCapacity ≤ MaxSize`,
    );
  }
  if (min !== undefined && max !== undefined && min === max) {
    errors.push(
      `MaxSize: ${max} equals MinSize; expected MaxSize above MinSize (a rolling update keeps MinSize instances in service and adds one)`,
    );
  }
  if (desired !== undefined && min !== undefined && desired < min) {
    errors.push(
      `DesiredCapacity: ${desired} is below MinSize ${min}; expected MinSize ≤ DesiredCapacity ≤ MaxSize`,
    );
  }
  if (desired !== undefined && max !== undefined && desired > max) {
    errors.push(
      `DesiredCapacity: ${desired} is above MaxSize ${max}; expected MinSize ≤ DesiredCapacity ≤ MaxSize`,
    );
  }
  return { errors, values, given };
}
