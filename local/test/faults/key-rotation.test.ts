import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { issueToken } from "@fleetline/web/antiforgery";
import {
  createKeyStore,
  KeyRing,
  type KeyRingLogger,
  type SigningKey,
} from "@fleetline/web/keyring";
import { issueSession } from "@fleetline/web/session";
import { startCluster, type WebInstance } from "./support/cluster.js";
import {
  describeFailures,
  fetchForm,
  type PostResult,
  postForm,
  Traffic,
} from "./support/traffic.js";

const quiet: KeyRingLogger = { info() {}, warn() {}, error() {} };

/**
 * A session and a form token the way an instance holding `key` would issue them (the operator's
 * tool below holds the shared store, as an instance does).
 */
function forgeSession(key: SigningKey): { token: string; cookie: string } {
  const { session, cookie } = issueSession(key, { sub: "rotation-operator" });
  return { token: issueToken(key, session.sid), cookie: `fleetline.session=${cookie}` };
}

async function post(
  instance: WebInstance,
  session: { token: string; cookie: string },
): Promise<PostResult> {
  return postForm(`${instance.url}/users`, session, {
    firstName: "Rotation",
    lastName: "Check",
    _csrf: session.token,
  });
}

test("key rotation with tokens in flight: old and new keys verify on every instance; a revoked key's tokens are refused", {
  timeout: 120_000,
}, async (t) => {
  const cluster = await startCluster(t, { instances: 2 });
  const [a, b] = cluster.instances;
  assert.ok(a && b);
  const both: readonly WebInstance[] = [a, b];
  // The operator's view of the same shared store, as a rotation tool would open it.
  const operator = await KeyRing.open({
    store: createKeyStore({ kind: "file", dir: cluster.keyringDir, logger: quiet }),
    logger: quiet,
    activationDelayMs: 0,
  });
  t.after(() => operator.close());
  const oldKey = operator.signingKey();

  const oldForms = await Promise.all(
    [a, b].map((i) => fetchForm(`${i.url}/users/new`, cluster.cookie)),
  );
  for (const form of oldForms) assert.ok(form.token.startsWith(`v2.${oldKey.id}.`));
  const traffic = await Traffic.start({
    url: cluster.lbUrl,
    tag: `rotate-${Date.now()}`,
    cookie: cluster.cookie,
  });
  t.after(() => traffic.stop());
  await delay(500);

  const newKey = await operator.rotate();
  // A token signed with the new key reaches each instance before its periodic refresh: the
  // unknown key id makes it reload the ring, and the token verifies.
  for (const instance of both) {
    const res = await post(instance, forgeSession(newKey));
    assert.equal(res.status, 303, `${instance.id} refused a token of the new key`);
  }
  // Tokens of the old key, issued before the rotation, still verify everywhere.
  for (const [i, form] of oldForms.entries()) {
    for (const instance of both) {
      const res = await postForm(`${instance.url}/users`, form, {
        firstName: `Old${i}`,
        lastName: "Key",
        _csrf: form.token,
      });
      assert.equal(res.status, 303, `${instance.id} refused an old-key token after rotation`);
    }
  }
  // And the instances now sign with the new key.
  const fresh = await fetchForm(`${a.url}/users/new`, cluster.cookie);
  assert.ok(fresh.token.startsWith(`v2.${newKey.id}.`), "instance still signs with the old key");
  await delay(500);
  await traffic.stop();
  const failures = traffic.failures();
  t.diagnostic(
    `${traffic.count()} requests across the rotation (old key ${oldKey.id}, new ${newKey.id}); failures: ${describeFailures(failures)}`,
  );
  assert.equal(failures.length, 0, `failed requests: ${describeFailures(failures)}`);

  await operator.revoke(oldKey.id);
  // Instances learn of a revocation on their next refresh: every 60 s, or at once when a token
  // carries a key id they do not know (rate-limited to one per second), which we use here.
  await delay(1100);
  const newest = await operator.rotate();
  for (const instance of both) {
    assert.equal((await post(instance, forgeSession(newest))).status, 303);
  }
  // The old forms' session was signed with the revoked key too, so it ends; posted under a live
  // session, their tokens are refused for the key.
  const live = forgeSession(newKey);
  for (const form of oldForms) {
    for (const instance of both) {
      const res = await postForm(`${instance.url}/users`, live, {
        firstName: "Revoked",
        lastName: "Key",
        _csrf: form.token,
      });
      assert.equal(res.status, 403, `${instance.id} accepted a token of a revoked key`);
      assert.match(res.body, /this form expired or did not come from this site/i);
    }
  }
  // Tokens of the key that was not revoked still work.
  assert.equal((await post(b, forgeSession(newKey))).status, 303);
  // The web's logger is asynchronous: give the refusal's line a moment to arrive.
  const refusalLogged = () =>
    [a, b]
      .flatMap((i) => i.lines)
      .some((l) => l.includes(oldKey.id) && l.includes("anti-forgery rejection"));
  for (let i = 0; i < 100 && !refusalLogged(); i++) await delay(20);
  assert.ok(refusalLogged(), "the refusal is not logged with the key id");
});
