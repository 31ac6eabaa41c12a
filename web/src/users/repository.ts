import { randomUUID } from "node:crypto";
import {
  ConditionalCheckFailedException,
  DescribeTableCommand,
  DynamoDBClient,
  type DynamoDBClientConfig,
} from "@aws-sdk/client-dynamodb";
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  ScanCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import {
  InvalidCursorError,
  StoreBusyError,
  StoreUnavailableError,
  UserNotFoundError,
  VersionConflictError,
} from "./errors.js";
import { isUserId, type User, type UserFields } from "./user.js";

export interface UsersRepositoryOptions {
  readonly tableName: string;
  readonly region: string;
  /** A DynamoDB-API endpoint (dynalite locally); unset on AWS. Fake credentials are used with it. */
  readonly endpoint?: string | undefined;
  /**
   * One attempt, from asking for a socket to the answer's headers; past it the request is
   * destroyed with its socket (a hung socket must not go back to the pool). Default 1000 ms.
   */
  readonly attemptTimeoutMs?: number;
  /** TCP connect; default 1000 ms. */
  readonly connectTimeoutMs?: number;
  /** Attempts per call, with the SDK's standard backoff; default 3. */
  readonly maxAttempts?: number;
  /**
   * Calls in flight above which a new call is refused at once with {@link StoreBusyError}
   * instead of queueing for a socket; default 100.
   */
  readonly maxInFlight?: number;
}

/** Per-call options; `signal` is the incoming request's deadline (see deadline.ts). */
export interface CallOptions {
  readonly signal?: AbortSignal | undefined;
}

export interface UsersPage {
  readonly users: readonly User[];
  /** Opaque cursor for the next page; undefined on the last page. */
  readonly next?: string;
}

function isUser(item: Record<string, unknown> | undefined): item is Record<string, unknown> & User {
  return (
    item !== undefined &&
    typeof item.id === "string" &&
    typeof item.firstName === "string" &&
    typeof item.lastName === "string" &&
    typeof item.version === "number"
  );
}

function toUser(item: Record<string, unknown>): User {
  return {
    id: String(item.id),
    firstName: String(item.firstName),
    lastName: String(item.lastName),
    version: Number(item.version),
    createdAt: typeof item.createdAt === "string" ? item.createdAt : "",
    updatedAt: typeof item.updatedAt === "string" ? item.updatedAt : "",
  };
}

/** The cursor is the scan's LastEvaluatedKey ({ id }) in base64url; validated on the way back. */
function encodeCursor(key: Record<string, unknown> | undefined): string | undefined {
  if (!key || typeof key.id !== "string") return undefined;
  return Buffer.from(JSON.stringify({ id: key.id })).toString("base64url");
}

function decodeCursor(cursor: string): { id: string } {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (
      typeof parsed === "object" &&
      parsed !== null &&
      "id" in parsed &&
      typeof parsed.id === "string" &&
      isUserId(parsed.id)
    ) {
      return { id: parsed.id };
    }
  } catch {
    // fall through: any undecodable cursor is the same client error
  }
  throw new InvalidCursorError("That page link is not valid; start again from the first page.");
}

/**
 * Users in DynamoDB. Every write is conditional: creates never replace, updates and deletes
 * carry the version the user saw, so a concurrent change surfaces as a conflict instead of a
 * silent overwrite.
 */
export class UsersRepository {
  private readonly db: DynamoDBDocumentClient;
  private readonly raw: DynamoDBClient;
  private readonly table: string;

  private readonly maxInFlight: number;
  #inFlight = 0;

  constructor(options: UsersRepositoryOptions) {
    const config: DynamoDBClientConfig = {
      region: options.region,
      maxAttempts: options.maxAttempts ?? 3,
      requestHandler: {
        connectionTimeout: options.connectTimeoutMs ?? 1000,
        requestTimeout: options.attemptTimeoutMs ?? 1000,
        // Without it the installed @smithy/node-http-handler only logs a warning at
        // requestTimeout and the call waits for ever; with it the request and its socket are
        // destroyed, so a silent endpoint cannot fill the pool with hung sockets.
        throwOnRequestTimeout: true,
      },
    };
    if (options.endpoint) {
      config.endpoint = options.endpoint;
      config.credentials = { accessKeyId: "local", secretAccessKey: "local" };
    }
    this.raw = new DynamoDBClient(config);
    this.db = DynamoDBDocumentClient.from(this.raw, {
      marshallOptions: { removeUndefinedValues: true },
    });
    this.table = options.tableName;
    this.maxInFlight = options.maxInFlight ?? 100;
  }

  /** DynamoDB calls under way now (load shedding reads it). */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** True when a new call would be refused; checked at the door before any work is done. */
  get saturated(): boolean {
    return this.#inFlight >= this.maxInFlight;
  }

  get tableName(): string {
    return this.table;
  }

  async list(limit: number, cursor?: string, options: CallOptions = {}): Promise<UsersPage> {
    const start = cursor ? decodeCursor(cursor) : undefined;
    const out = await this.call(
      (abortSignal) =>
        this.db.send(
          new ScanCommand({
            TableName: this.table,
            Limit: limit,
            ExclusiveStartKey: start,
            ConsistentRead: true,
          }),
          { abortSignal },
        ),
      options,
    );
    const users = (out.Items ?? []).filter(isUser).map(toUser);
    const next = encodeCursor(out.LastEvaluatedKey);
    return next ? { users, next } : { users };
  }

  async get(id: string, options: CallOptions = {}): Promise<User | undefined> {
    if (!isUserId(id)) return undefined;
    const out = await this.call(
      (abortSignal) =>
        this.db.send(new GetCommand({ TableName: this.table, Key: { id }, ConsistentRead: true }), {
          abortSignal,
        }),
      options,
    );
    return isUser(out.Item) ? toUser(out.Item) : undefined;
  }

  async create(fields: UserFields, options: CallOptions = {}): Promise<User> {
    const now = new Date().toISOString();
    const user: User = { id: randomUUID(), ...fields, version: 1, createdAt: now, updatedAt: now };
    await this.call(
      (abortSignal) =>
        this.db.send(
          new PutCommand({
            TableName: this.table,
            Item: user,
            ConditionExpression: "attribute_not_exists(id)",
          }),
          { abortSignal },
        ),
      options,
    );
    return user;
  }

  /** Applies the change only if the stored version is still `expectedVersion`. */
  async update(
    id: string,
    expectedVersion: number,
    fields: UserFields,
    options: CallOptions = {},
  ): Promise<User> {
    if (!isUserId(id)) throw new UserNotFoundError(id);
    try {
      const out = await this.call(
        (abortSignal) =>
          this.db.send(
            new UpdateCommand({
              TableName: this.table,
              Key: { id },
              UpdateExpression:
                "SET firstName = :first, lastName = :last, version = :next, updatedAt = :now",
              ConditionExpression: "attribute_exists(id) AND version = :expected",
              ExpressionAttributeValues: {
                ":first": fields.firstName,
                ":last": fields.lastName,
                ":expected": expectedVersion,
                ":next": expectedVersion + 1,
                ":now": new Date().toISOString(),
              },
              ReturnValues: "ALL_NEW",
            }),
            { abortSignal },
          ),
        options,
      );
      if (!isUser(out.Attributes)) throw new StoreUnavailableError("update returned no item");
      return toUser(out.Attributes);
    } catch (error) {
      throw await this.explainConditionFailure(error, id, options);
    }
  }

  async delete(id: string, expectedVersion: number, options: CallOptions = {}): Promise<void> {
    if (!isUserId(id)) throw new UserNotFoundError(id);
    try {
      await this.call(
        (abortSignal) =>
          this.db.send(
            new DeleteCommand({
              TableName: this.table,
              Key: { id },
              ConditionExpression: "attribute_exists(id) AND version = :expected",
              ExpressionAttributeValues: { ":expected": expectedVersion },
            }),
            { abortSignal },
          ),
        options,
      );
    } catch (error) {
      throw await this.explainConditionFailure(error, id, options);
    }
  }

  /** Readiness: the table exists and the endpoint answers, within `signal`'s deadline. */
  async ping(options: CallOptions = {}): Promise<void> {
    await this.call(
      (abortSignal) =>
        this.raw.send(new DescribeTableCommand({ TableName: this.table }), { abortSignal }),
      options,
    );
  }

  close(): void {
    this.db.destroy();
    this.raw.destroy();
  }

  /** A failed condition means either gone (404) or changed (409 with what is there now). */
  private async explainConditionFailure(
    error: unknown,
    id: string,
    options: CallOptions,
  ): Promise<unknown> {
    if (!(error instanceof ConditionalCheckFailedException)) return error;
    const current = await this.get(id, options);
    return current ? new VersionConflictError(current) : new UserNotFoundError(id);
  }

  /**
   * Maps what a user cannot fix and should retry later — transport failures, timeouts, the
   * request's deadline, throttling, 5xx, a missing table — to StoreUnavailableError (503). Anything
   * else (a ValidationException would be our bug) propagates and becomes a logged 500.
   */
  private async call<T>(
    op: (abortSignal: AbortSignal | undefined) => Promise<T>,
    options: CallOptions,
  ): Promise<T> {
    if (options.signal?.aborted) {
      throw new StoreUnavailableError("DynamoDB: the request's deadline passed before the call");
    }
    if (this.#inFlight >= this.maxInFlight) {
      throw new StoreBusyError(`${this.#inFlight} DynamoDB calls in flight`);
    }
    this.#inFlight += 1;
    try {
      return await op(options.signal);
    } catch (error) {
      if (isUnavailable(error)) {
        const name = error instanceof Error ? error.name : "UnknownError";
        const message = error instanceof Error ? error.message : String(error);
        throw new StoreUnavailableError(`DynamoDB ${name}: ${message}`, { cause: error });
      }
      throw error;
    } finally {
      this.#inFlight -= 1;
    }
  }
}

const UNAVAILABLE_NAMES = new Set([
  "ResourceNotFoundException",
  "ProvisionedThroughputExceededException",
  "ThrottlingException",
  "RequestLimitExceeded",
  "InternalServerError",
  "ServiceUnavailable",
  "TimeoutError",
  "AbortError",
]);

/** Socket-level failures, whatever the SDK wraps them in (a reset after the headers carries a 200). */
const TRANSPORT_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
  "ECONNABORTED",
]);

function isUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error instanceof ConditionalCheckFailedException) return false;
  if (UNAVAILABLE_NAMES.has(error.name)) return true;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && TRANSPORT_CODES.has(code)) return true;
  if (error.message === "aborted") return true; // node:http's body cut short
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  // No HTTP status at all means the request never got an answer (refused, reset, timed out).
  return status === undefined || status >= 500;
}
