import pino from "pino";
import { issueSession, sessionCookieName } from "../../../../web/src/auth/session.js";
import {
  type CreateKeyStoreOptions,
  createKeyStore,
  KeyRing,
} from "../../../../web/src/keyring/index.js";

/**
 * `name=value` of an operator session, signed with the key ring a running web instance shares
 * (the same file folder or Redis prefix), exactly as its sign-in callback signs one once the
 * provider has vouched: these tests are about slow dependencies, and their instances run without
 * an OpenID provider. The real sign-in flow is exercised by the fault cluster and e2e.
 */
export async function operatorCookie(
  store: Omit<CreateKeyStoreOptions, "logger">,
): Promise<string> {
  const logger = pino({ level: "silent" });
  const ring = await KeyRing.open({ store: createKeyStore({ ...store, logger }), logger });
  try {
    const issued = issueSession(ring.signingKey(), { sub: "fault-test-operator" });
    return `${sessionCookieName(false)}=${issued.cookie}`;
  } finally {
    await ring.close();
  }
}
