// The local load balancer in a process of its own, with the targets given as id=port arguments;
// it reports ready once every target is healthy.
import { LoadBalancer } from "@fleetline/local/load-balancer";

const lb = new LoadBalancer({ healthCheckIntervalMs: 500, healthyThreshold: 1 });
const port = await lb.listen(0);
const ids: string[] = [];
for (const arg of process.argv.slice(2)) {
  const [id = "", targetPort = ""] = arg.split("=");
  lb.register({ id, host: "127.0.0.1", port: Number(targetPort) });
  ids.push(id);
}
await Promise.all(ids.map((id) => lb.waitForHealthy(id, 10_000)));
process.stdout.write(`${JSON.stringify({ ready: true, port })}\n`);
process.once("SIGTERM", () => {
  void lb.close().then(() => process.exit(0));
});
