import assert from "node:assert/strict";
import {
  cacheReserveMs,
  type Clock,
  DEADLINE_TIMER_SLACK_MS,
  loginDeadline,
  MAX_BELIEVABLE_AGE_MS,
  processAge,
  REAL_TRY_MS,
  realTryBudget,
} from "../src/deadline.ts";
import { HelperError } from "../src/errors.ts";

/** A clock that stands still until `advance`; timers are recorded, not run. */
function fakeClock(wall: number) {
  let monotonic = 5_000;
  const timers: number[] = [];
  const clock: Clock = {
    wall: () => wall,
    monotonic: () => monotonic,
    setTimer: (_fire, ms) => void timers.push(ms),
  };
  const advance = (ms: number) => (wall += ms, monotonic += ms);
  return { clock, timers, advance };
}

const NOW = 1_800_000_000_000;

Deno.test("ms= counts from the kernel's start the launcher reports, not from the module", () => {
  const { clock, advance } = fakeClock(NOW);
  const age = processAge(String(NOW - 4_300), clock); // Deno took 4.3 s to reach the module, as under a storm
  assert.equal(age.fromKernel, true);
  assert.equal(age.startedAt, NOW - 4_300);
  assert.equal(age.elapsed(), 4_300);
  advance(1_478);
  assert.equal(age.elapsed(), 5_778);
});

Deno.test("the deadline falls timeout seconds after the process started, and its timer accounts for the wait", () => {
  const { clock, timers } = fakeClock(NOW);
  const deadline = loginDeadline(processAge(String(NOW - 4_000), clock), 10, clock);
  assert.equal(deadline.at, NOW + 6_000);
  deadline.arm(() => {});
  deadline.arm(() => {}); // armed once only
  assert.deepEqual(timers, [6_000 + DEADLINE_TIMER_SLACK_MS]);
});

Deno.test("a process that started after its deadline expires at once", () => {
  const { clock, timers } = fakeClock(NOW);
  loginDeadline(processAge(String(NOW - 12_000), clock), 10, clock).arm(() => {});
  assert.deepEqual(timers, [0]);
});

Deno.test("without a believable start from the launcher, both count from now", () => {
  for (const reported of [undefined, "", "soon", "-5", "1e12", `${NOW + 1}`, `${NOW - MAX_BELIEVABLE_AGE_MS - 1}`]) {
    const { clock, advance } = fakeClock(NOW);
    const age = processAge(reported, clock);
    assert.deepEqual([age.fromKernel, age.startedAt], [false, NOW], String(reported));
    assert.equal(loginDeadline(age, 3, clock).at, NOW + 3_000);
    advance(250);
    assert.equal(age.elapsed(), 250);
  }
});

Deno.test("elapsed time follows the monotonic clock, not a wall clock that steps", () => {
  const { clock } = fakeClock(NOW);
  let wall = NOW;
  let monotonic = 100;
  const stepping: Clock = { ...clock, wall: () => wall, monotonic: () => monotonic };
  const age = processAge(String(NOW - 1_000), stepping);
  wall -= 3_600_000; // NTP steps the clock back an hour
  monotonic += 20;
  assert.equal(age.elapsed(), 1_020);
});

Deno.test("with a cache, NetAuth's share of the deadline ends a quarter of the timeout early, at most 1 s", () => {
  assert.deepEqual([cacheReserveMs(1), cacheReserveMs(2), cacheReserveMs(4), cacheReserveMs(300)], [
    250,
    500,
    1000,
    1000,
  ]);
});

Deno.test("realTryBudget: NetAuth's share from now, or no_time (9) when it is under a real try", () => {
  assert.equal(realTryBudget(10_000, 10_000 - REAL_TRY_MS), REAL_TRY_MS);
  assert.equal(realTryBudget(10_000, 1_000), 9_000);
  for (const now of [10_000 - REAL_TRY_MS + 1, 10_000, 25_000]) {
    assert.throws(() => realTryBudget(10_000, now), (err: unknown) => {
      assert.ok(err instanceof HelperError);
      assert.equal(err.exit, 9);
      assert.equal(err.outcome, "no_time");
      assert.match(err.message, /^NetAuth not asked: \d+ ms .* not answered from the offline cache$/);
      return true;
    });
  }
});
