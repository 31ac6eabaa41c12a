// A copy of a good artifact whose server exits at start: what a bad push looks like to
// CodeDeploy (ValidateService fails), for `npm run rehearse -- --try-broken-revision`, which
// shows the failure report and the automatic rollback on purpose.
import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Revision } from "./deployment.js";

export function brokenRevision(artifactDir: string, dest: string, label: string): Revision {
  rmSync(dest, { recursive: true, force: true });
  cpSync(artifactDir, dest, { recursive: true });
  const revisionFile = join(dest, "app", "REVISION");
  const rest = readFileSync(revisionFile, "utf8").split("\n").slice(1).join("\n");
  writeFileSync(revisionFile, `${label}\n${rest}`);
  writeFileSync(
    join(dest, "app", "dist", "server.mjs"),
    'process.stderr.write("broken revision: refusing to start\\n");\nprocess.exit(1);\n',
  );
  return { bundleDir: dest, label };
}
