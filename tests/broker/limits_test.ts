import assert from "node:assert/strict";
import { Admission, MAX_DECIDING, MAX_IN_FLIGHT } from "../../src/broker/limits.ts";
import { MAX_CALLS_PER_CHANNEL } from "../../src/netauth/grpc_client.ts";

Deno.test("the broker's bounds: 256 in flight, 32 deciding, never more than the warm channel's streams", () => {
  assert.equal(MAX_IN_FLIGHT, 256);
  assert.ok(MAX_DECIDING <= MAX_CALLS_PER_CHANNEL, "a deciding login holds one call at a time");
});

Deno.test("past the in-flight bound a connection is refused on sight; leaving frees its place once", () => {
  const admission = new Admission(3, 1);
  const places = [admission.enter(), admission.enter(), admission.enter()];
  assert.ok(places.every(Boolean));
  assert.equal(admission.enter(), undefined);
  places[0]!();
  places[0]!();
  assert.equal(admission.inFlight, 2);
  assert.ok(admission.enter());
  assert.equal(admission.enter(), undefined);
});

Deno.test("deciding: in arrival order; a login that waits half its deadline is turned away (busy: go direct)", async () => {
  const admission = new Admission(10, 2);
  const order: string[] = [];
  const first = (await admission.turn(10_000))!, second = (await admission.turn(10_000))!;
  const third = admission.turn(10_000).then((turn) => (order.push("third"), turn));
  const fourth = admission.turn(10_000).then((turn) => (order.push("fourth"), turn));
  const started = Date.now();
  assert.equal(await admission.turn(100), undefined, "no turn within 50 ms");
  assert.ok(Date.now() - started >= 45 && Date.now() - started < 1000);
  assert.equal(admission.waiting, 2);
  first();
  second();
  (await third)!();
  (await fourth)!();
  assert.deepEqual(order, ["third", "fourth"]);
  assert.equal(admission.waiting, 0);
});
