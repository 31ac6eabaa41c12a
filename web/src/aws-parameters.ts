import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";

export interface AwsLookupOptions {
  readonly region: string;
  /** Override for tests or a local emulator; unset on AWS. */
  readonly endpoint?: string | undefined;
}

export interface CacheAddress {
  readonly host: string;
  readonly port: number;
}

/** Parses the `host:port` the stack writes into the cache-address parameter. */
export function parseCacheAddress(value: string): CacheAddress {
  const match = /^([A-Za-z0-9.-]+):([0-9]{1,5})$/.exec(value.trim());
  const port = Number(match?.[2]);
  if (!match?.[1] || !(port > 0 && port < 65536)) {
    throw new Error(`expected host:port, got ${JSON.stringify(value.slice(0, 100))}`);
  }
  return { host: match[1], port };
}

/** Reads the cache address from SSM Parameter Store, as the original did at start-up. */
export async function readCacheAddress(
  name: string,
  options: AwsLookupOptions,
): Promise<CacheAddress> {
  const client = new SSMClient({
    region: options.region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
  });
  try {
    const out = await client.send(new GetParameterCommand({ Name: name }));
    const value = out.Parameter?.Value;
    if (!value) throw new Error(`SSM parameter ${name} is empty`);
    return parseCacheAddress(value);
  } finally {
    client.destroy();
  }
}

/** Reads the cache AUTH token from Secrets Manager (a plain string, or JSON with a `token`/`password` field). */
export async function readSecretString(
  secretId: string,
  options: AwsLookupOptions,
): Promise<string> {
  const client = new SecretsManagerClient({
    region: options.region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
  });
  try {
    const out = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
    const value = out.SecretString ?? "";
    if (value.startsWith("{")) {
      const parsed = JSON.parse(value) as Record<string, unknown>;
      const token = parsed.token ?? parsed.password ?? parsed.authToken;
      if (typeof token === "string" && token) return token;
      throw new Error(`secret ${secretId} has no "token" or "password" field`);
    }
    if (!value) throw new Error(`secret ${secretId} is empty`);
    return value;
  } finally {
    client.destroy();
  }
}
