import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";

export interface AwsLookupOptions {
  readonly region: string;
  /** Override for tests or a local emulator; unset on AWS. */
  readonly endpoint?: string | undefined;
  /** One attempt; past it the request and its socket are destroyed and retried. Default 2000 ms. */
  readonly attemptTimeoutMs?: number;
  /** Attempts, with the SDK's standard backoff, all inside `signal`'s deadline; default 5. */
  readonly maxAttempts?: number;
  /** The start-up deadline; when it aborts, the read fails at once with a {@link StartupReadError}. */
  readonly signal?: AbortSignal | undefined;
}

/**
 * A read the web needs before it can serve failed or ran out of time: the process exits with
 * this message (what was read, from where, how long was waited, the last cause) instead of a
 * stack trace or, worse, a start that never ends.
 */
export class StartupReadError extends Error {
  override readonly name = "StartupReadError";
}

/** Client settings every start-up read shares: bounded attempts that really abort. */
function clientConfig(options: AwsLookupOptions) {
  return {
    region: options.region,
    maxAttempts: options.maxAttempts ?? 5,
    requestHandler: {
      connectionTimeout: Math.min(1000, options.attemptTimeoutMs ?? 2000),
      requestTimeout: options.attemptTimeoutMs ?? 2000,
      // Without it the installed @smithy/node-http-handler only warns and waits for ever.
      throwOnRequestTimeout: true,
    },
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
  };
}

/** Runs one start-up read; any failure becomes a StartupReadError naming `what`. */
async function startupRead<T>(
  what: string,
  options: AwsLookupOptions,
  read: (abortSignal: AbortSignal | undefined) => Promise<T>,
): Promise<T> {
  const started = performance.now();
  try {
    return await read(options.signal);
  } catch (error) {
    const waited = Math.round(performance.now() - started);
    // One line: the SDK's messages carry line breaks a log line should not.
    const cause = (error instanceof Error ? `${error.name}: ${error.message}` : String(error))
      .replace(/\s*\n\s*/g, " ")
      .slice(0, 300);
    const timedOut = options.signal?.aborted === true;
    const attempts = (error as { $metadata?: { attempts?: number } }).$metadata?.attempts;
    throw new StartupReadError(
      `could not read ${what}${options.endpoint ? ` at ${options.endpoint}` : ""}: ` +
        (timedOut
          ? `no answer within the start-up deadline (waited ${waited} ms; STARTUP_DEADLINE_MS)`
          : `${cause} (after ${waited} ms${attempts ? `, ${attempts} attempt(s)` : ""})`),
      { cause: error },
    );
  }
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
  const client = new SSMClient(clientConfig(options));
  try {
    const value = await startupRead(`SSM parameter ${name}`, options, async (abortSignal) => {
      const out = await client.send(new GetParameterCommand({ Name: name }), { abortSignal });
      return out.Parameter?.Value;
    });
    if (!value) throw new StartupReadError(`SSM parameter ${name} is empty`);
    try {
      return parseCacheAddress(value);
    } catch (error) {
      throw new StartupReadError(`SSM parameter ${name}: ${(error as Error).message}`);
    }
  } finally {
    client.destroy();
  }
}

/** Reads the cache AUTH token from Secrets Manager (a plain string, or JSON with a `token`/`password` field). */
export async function readSecretString(
  secretId: string,
  options: AwsLookupOptions,
): Promise<string> {
  const client = new SecretsManagerClient(clientConfig(options));
  try {
    const value = await startupRead(`secret ${secretId}`, options, async (abortSignal) => {
      const out = await client.send(new GetSecretValueCommand({ SecretId: secretId }), {
        abortSignal,
      });
      return out.SecretString ?? "";
    });
    if (value.startsWith("{")) {
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(value) as Record<string, unknown>;
      } catch {
        throw new StartupReadError(`secret ${secretId} starts with "{" but is not JSON`);
      }
      const token = parsed.token ?? parsed.password ?? parsed.authToken;
      if (typeof token === "string" && token) return token;
      throw new StartupReadError(`secret ${secretId} has no "token" or "password" field`);
    }
    if (!value) throw new StartupReadError(`secret ${secretId} is empty`);
    return value;
  } finally {
    client.destroy();
  }
}
