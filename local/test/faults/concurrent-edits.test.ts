import assert from "node:assert/strict";
import { test } from "node:test";
import { startCluster } from "./support/cluster.js";
import { type FormSession, fetchForm, type PostResult, postForm } from "./support/traffic.js";

const ROUNDS = 100;

function fieldValue(body: string, name: string): string | undefined {
  return new RegExp(`name="${name}"[^>]*value="([^"]*)"`).exec(body)?.[1];
}

test("two concurrent edits of one user through different instances: exactly one wins, the other gets 409 with the current values, 100 times", {
  timeout: 120_000,
}, async (t) => {
  const cluster = await startCluster(t, { instances: 2 });
  const [a, b] = cluster.instances;
  assert.ok(a && b);
  const form = await fetchForm(`${a.url}/users/new`, cluster.cookie);
  const created = await postForm(`${a.url}/users`, form, {
    firstName: "Round",
    lastName: "Zero",
    _csrf: form.token,
  });
  assert.equal(created.status, 303);
  const list = await (
    await fetch(`${b.url}/users`, { headers: { cookie: cluster.cookie } })
  ).text();
  const id = /\/users\/([^/"]+)\/edit/.exec(list)?.[1];
  assert.ok(id, "the created user is not listed");

  // Each editor keeps its browser session across rounds, as a person would.
  // Two operators' browsers: each signed in on its own.
  let cookieA = form.cookie;
  let cookieB: string = await cluster.signIn();
  const wins = { A: 0, B: 0 };
  let latest: { firstName: string; lastName: string } | undefined;
  for (let round = 1; round <= ROUNDS; round++) {
    const [formA, formB]: [FormSession, FormSession] = await Promise.all([
      fetchForm(`${a.url}/users/${id}/edit`, cookieA),
      fetchForm(`${b.url}/users/${id}/edit`, cookieB),
    ]);
    cookieA = formA.cookie;
    cookieB = formB.cookie;
    assert.equal(formA.version, String(round), `round ${round}: version seen by A`);
    assert.equal(formB.version, formA.version, `round ${round}: A and B saw different versions`);
    const edits = {
      A: { firstName: `A${round}`, lastName: "Alpha" },
      B: { firstName: `B${round}`, lastName: "Bravo" },
    };
    const [resA, resB]: [PostResult, PostResult] = await Promise.all([
      postForm(`${a.url}/users/${id}`, formA, {
        ...edits.A,
        version: formA.version ?? "",
        _csrf: formA.token,
      }),
      postForm(`${b.url}/users/${id}`, formB, {
        ...edits.B,
        version: formB.version ?? "",
        _csrf: formB.token,
      }),
    ]);
    const statuses: number[] = [resA.status, resB.status].sort();
    assert.deepEqual(
      statuses,
      [303, 409],
      `round ${round}: statuses ${resA.status}, ${resB.status}`,
    );
    const winner = resA.status === 303 ? "A" : "B";
    const loser = winner === "A" ? resB : resA;
    wins[winner]++;
    const won = edits[winner];
    latest = won;
    // The loser is shown what the user now reads, and keeps its own values to retry with.
    assert.ok(
      loser.body.includes(`<strong>${won.firstName} ${won.lastName}</strong>`),
      `round ${round}: the 409 page does not show the current values`,
    );
    assert.equal(fieldValue(loser.body, "version"), String(round + 1));
    const lost = edits[winner === "A" ? "B" : "A"];
    assert.equal(fieldValue(loser.body, "firstName"), lost.firstName);
  }
  const items = await cluster.dynamo.scanUsers();
  const stored = items.find((i) => i.id === id);
  t.diagnostic(
    `${ROUNDS} rounds: A won ${wins.A}, B won ${wins.B}; final version ${stored?.version}`,
  );
  assert.equal(stored?.version, ROUNDS + 1, "an update was lost or applied twice");
  assert.equal(stored?.firstName, latest?.firstName, "the stored user is not the last winner's");
  assert.equal(stored?.lastName, latest?.lastName);
});
