import assert from "node:assert/strict";
import { Semaphore } from "../src/semaphore.ts";

Deno.test("a semaphore holds at most its limit; waiters get slots in arrival order", async () => {
  const slots = new Semaphore(2);
  const order: number[] = [];
  let running = 0, peak = 0;
  await Promise.all(Array.from({ length: 8 }, (_, i) =>
    slots.run(async () => {
      order.push(i);
      peak = Math.max(peak, ++running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running--;
    })));
  assert.equal(peak, 2);
  assert.deepEqual(order, [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.equal(slots.active, 0);
  assert.equal(slots.waiting, 0);
});

Deno.test("a waiter past its deadline gives up and leaves the line; a release twice frees one slot", async () => {
  const slots = new Semaphore(1);
  const held = slots.tryAcquire()!;
  assert.equal(slots.tryAcquire(), undefined);
  assert.equal(await slots.acquire(Date.now() + 20), undefined);
  assert.equal(slots.waiting, 0);
  await assert.rejects(slots.run(() => Promise.resolve(1), Date.now() + 5, () => new Error("busy!")), /busy!/);
  const later = slots.acquire(Date.now() + 5000);
  held();
  held(); // no effect
  const next = await later;
  assert.ok(next);
  assert.equal(slots.active, 1);
  next();
  assert.equal(slots.active, 0);
  assert.throws(() => new Semaphore(0), RangeError);
});
