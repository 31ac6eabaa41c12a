import { type CreateKeyStoreOptions, createKeyStore, KeyRing } from "@fleetline/web/keyring";
import { operatorSession } from "@fleetline/web/testing/app";
import pino from "pino";

/**
 * `name=value` of an operator session for a running web instance, signed with the key ring it
 * shares (the same file folder or Redis prefix): these tests are about slow dependencies, and
 * their instances run without an OpenID provider. The real sign-in flow is exercised by the fault
 * cluster and e2e.
 */
export async function operatorCookie(
  store: Omit<CreateKeyStoreOptions, "logger">,
): Promise<string> {
  const logger = pino({ level: "silent" });
  const ring = await KeyRing.open({ store: createKeyStore({ ...store, logger }), logger });
  try {
    return operatorSession(ring, { sub: "fault-test-operator" }).cookie;
  } finally {
    await ring.close();
  }
}
