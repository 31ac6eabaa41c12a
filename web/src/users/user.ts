/** A user as stored in DynamoDB. `version` drives optimistic locking. */
export interface User {
  readonly id: string;
  readonly firstName: string;
  readonly lastName: string;
  readonly version: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface UserFields {
  readonly firstName: string;
  readonly lastName: string;
}

/** Ids are UUIDs we mint; anything else (path traversal, keys of other shapes) is simply not found. */
const ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function isUserId(value: string): boolean {
  return ID_PATTERN.test(value);
}
