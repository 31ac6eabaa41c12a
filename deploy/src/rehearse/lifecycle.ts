// The CodeDeploy in-place lifecycle with a load balancer, in the agent's order. Events marked
// "service" are done by CodeDeploy itself (the load balancer) and "agent" by the agent (copying
// the bundle); the others run the revision's scripts listed in appspec.yml `hooks`.
export const lifecycleEvents = [
  { name: "BeforeBlockTraffic", by: "script" },
  { name: "BlockTraffic", by: "service" },
  { name: "AfterBlockTraffic", by: "script" },
  { name: "ApplicationStop", by: "script" },
  { name: "DownloadBundle", by: "agent" },
  { name: "BeforeInstall", by: "script" },
  { name: "Install", by: "agent" },
  { name: "AfterInstall", by: "script" },
  { name: "ApplicationStart", by: "script" },
  { name: "ValidateService", by: "script" },
  { name: "BeforeAllowTraffic", by: "script" },
  { name: "AllowTraffic", by: "service" },
  { name: "AfterAllowTraffic", by: "script" },
] as const;

export type LifecycleEventName = (typeof lifecycleEvents)[number]["name"];
export type ScriptEventName = Extract<(typeof lifecycleEvents)[number], { by: "script" }>["name"];
export type StepEventName = Exclude<LifecycleEventName, ScriptEventName>;

/**
 * Events whose scripts come from the last successful revision on the instance rather than the
 * one being deployed: the new bundle is not downloaded yet when they run.
 */
export const previousRevisionEvents: ReadonlySet<LifecycleEventName> = new Set([
  "BeforeBlockTraffic",
  "AfterBlockTraffic",
  "ApplicationStop",
]);

/** `d-` and nine upper-case letters or digits, like CodeDeploy's deployment ids. */
export function newDeploymentId(): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  let id = "d-";
  for (let i = 0; i < 9; i++) id += alphabet[Math.floor(Math.random() * alphabet.length)];
  return id;
}
