import type { User } from "./user.js";

/** The store could not be reached or refused to serve (throttling, outage, missing table). */
export class StoreUnavailableError extends Error {
  override readonly name = "StoreUnavailableError";
  readonly statusCode = 503;
}

/** Too many store calls in flight on this instance: refused at once rather than queued (503). */
export class StoreBusyError extends Error {
  override readonly name = "StoreBusyError";
  readonly statusCode = 503;
}

/** The item changed since the client read it; carries what is stored now. */
export class VersionConflictError extends Error {
  override readonly name = "VersionConflictError";
  readonly statusCode = 409;
  constructor(readonly current: User) {
    super(`user ${current.id} is at version ${current.version}`);
  }
}

export class UserNotFoundError extends Error {
  override readonly name = "UserNotFoundError";
  readonly statusCode = 404;
  constructor(readonly id: string) {
    super(`user ${id} not found`);
  }
}

export class InvalidCursorError extends Error {
  override readonly name = "InvalidCursorError";
  readonly statusCode = 400;
}
