import { hostname } from "node:os";

export interface InstanceIdOptions {
  /** INSTANCE_ID from config; wins when set. */
  readonly configured?: string | undefined;
  /** EC2 instance metadata service base URL; default http://169.254.169.254. */
  readonly metadataEndpoint?: string;
  /** Per-call budget for IMDS; default 300 ms, so start-up off EC2 is not held up. */
  readonly timeoutMs?: number;
}

/**
 * Which instance is this: INSTANCE_ID, else the EC2 instance id read through IMDSv2 (a session
 * token first, as EC2 requires when HttpTokens=required), else the host name.
 */
export async function resolveInstanceId(options: InstanceIdOptions = {}): Promise<string> {
  if (options.configured) return options.configured;
  const base = options.metadataEndpoint ?? "http://169.254.169.254";
  const timeout = options.timeoutMs ?? 300;
  try {
    const tokenResponse = await fetch(`${base}/latest/api/token`, {
      method: "PUT",
      headers: { "x-aws-ec2-metadata-token-ttl-seconds": "60" },
      signal: AbortSignal.timeout(timeout),
    });
    if (tokenResponse.ok) {
      const token = await tokenResponse.text();
      const idResponse = await fetch(`${base}/latest/meta-data/instance-id`, {
        headers: { "x-aws-ec2-metadata-token": token },
        signal: AbortSignal.timeout(timeout),
      });
      const id = (await idResponse.text()).trim();
      if (idResponse.ok && /^i-[0-9a-f]{8,32}$/.test(id)) return id;
    }
  } catch {
    // Not on EC2 (or IMDS disabled): fall back to the host name.
  }
  return hostname();
}
