import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { AppspecError, readAppspec, unknownHookEvents } from "../../src/rehearse/appspec.js";
import { repoRoot, tempDir } from "../support.js";

type T = Parameters<typeof tempDir>[0];

function appspec(t: T, text: string, name = "appspec.yml") {
  const dir = tempDir(t, "appspec");
  writeFileSync(join(dir, name), text);
  return () => readAppspec(dir);
}

const head = "version: 0.0\nos: linux\n";

test("the project's own appspec passes the agent's checks", () => {
  const spec = readAppspec(join(repoRoot, "deploy"));
  assert.equal(spec.fileExistsBehavior, "OVERWRITE");
  assert.deepEqual(unknownHookEvents(spec), []);
  assert.equal(spec.hooks.ValidateService?.[0]?.runas, "root");
});

test("version must be the number 0.0: quoted, or another number, is refused", (t) => {
  assert.equal(appspec(t, head)().files.length, 0);
  assert.throws(appspec(t, 'version: "0.0"\nos: linux\n'), AppspecError);
  assert.throws(appspec(t, "version: 1.0\nos: linux\n"), /invalid version value \(1\)/);
  assert.throws(appspec(t, "os: linux\n"), /invalid version value/);
});

test("os: linux is required", (t) => {
  assert.throws(appspec(t, "version: 0.0\n"), /unsupported operating system/);
  assert.throws(
    appspec(t, "version: 0.0\nos: Linux\n"),
    /unsupported operating system \("Linux"\)/,
  );
});

test("file_exists_behavior is accepted in upper case only, DISALLOW by default", (t) => {
  assert.equal(appspec(t, head)().fileExistsBehavior, "DISALLOW");
  assert.equal(appspec(t, `${head}file_exists_behavior: RETAIN\n`)().fileExistsBehavior, "RETAIN");
  assert.throws(appspec(t, `${head}file_exists_behavior: overwrite\n`), /in upper case/);
});

test("hook timeouts are whole seconds, 3600 by default, and 0 or less is refused", (t) => {
  const hooks = (timeout: string) =>
    appspec(t, `${head}hooks:\n  AfterInstall:\n    - location: a.sh\n${timeout}`);
  assert.equal(hooks("")().hooks.AfterInstall?.[0]?.timeoutSeconds, 3600);
  assert.equal(hooks("      timeout: 90\n")().hooks.AfterInstall?.[0]?.timeoutSeconds, 90);
  assert.equal(hooks('      timeout: "45"\n')().hooks.AfterInstall?.[0]?.timeoutSeconds, 45);
  assert.equal(hooks("      timeout: 1.9\n")().hooks.AfterInstall?.[0]?.timeoutSeconds, 1);
  assert.throws(hooks("      timeout: 0\n"), /invalid timeout value \(0\)/);
  assert.throws(hooks("      timeout: -5\n"), /invalid timeout value/);
  assert.throws(hooks("      timeout: 0.5\n"), /invalid timeout value/);
  assert.throws(hooks("      timeout: soon\n"), /invalid timeout value/);
});

test("an empty hook entry is ignored; a script without a location is refused", (t) => {
  const spec = appspec(
    t,
    `${head}hooks:\n  ApplicationStop:\n  AfterInstall:\n    - location: a.sh\n`,
  )();
  assert.deepEqual(spec.hooks.ApplicationStop, []);
  assert.equal(spec.hooks.AfterInstall?.length, 1);
  assert.throws(
    appspec(t, `${head}hooks:\n  AfterInstall:\n    - timeout: 5\n`),
    /script with no location value/,
  );
});

test("unknown event names are reported for Install to reject", (t) => {
  const spec = appspec(
    t,
    `${head}hooks:\n  AfterInstal:\n    - location: a.sh\n  ValidateService:\n    - location: b.sh\n  BlockTraffic:\n    - location: c.sh\n`,
  )();
  assert.deepEqual(unknownHookEvents(spec), ["AfterInstal", "BlockTraffic"]);
});

test("appspec.yaml is accepted when there is no appspec.yml", (t) => {
  assert.equal(appspec(t, head, "appspec.yaml")().file.endsWith("appspec.yaml"), true);
  assert.throws(appspec(t, head, "AppSpec.txt"), /no appspec\.yml or appspec\.yaml/);
});

test("permissions: object required, mode read as octal digits, type file or directory", (t) => {
  const spec = appspec(
    t,
    `${head}permissions:\n  - object: /opt/x\n    mode: 640\n    owner: fleetline\n    type: [file]\n`,
  )();
  assert.deepEqual(spec.permissions[0], {
    object: "/opt/x",
    pattern: "**",
    except: [],
    type: ["file"],
    owner: "fleetline",
    mode: 0o640,
  });
  assert.throws(appspec(t, `${head}permissions:\n  - mode: 640\n`), /no object value/);
  assert.throws(
    appspec(t, `${head}permissions:\n  - object: /x\n    mode: 999\n`),
    /not an octal mode/,
  );
  assert.throws(
    appspec(t, `${head}permissions:\n  - object: /x\n    type: [link]\n`),
    /type lists/,
  );
});
