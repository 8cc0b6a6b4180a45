/**
 * The login's deadline and the `ms=` its log line reports, both counted from when the kernel started this
 * process (pam_exec's fork), not from when the module ran: under load, starting Deno alone can take seconds.
 * The runtime may not read /proc without --allow-all, so the root-owned launcher reads the start time
 * (src/install/launcher.ts) and passes it in STARTED_ENV; without it (a run from source) they count from now.
 *
 * @module
 */
import { HelperError } from "./errors.ts";
import { Exit } from "./exit_codes.ts";

/** Set by the launcher, never passed from the PAM environment: epoch ms at which the kernel started us. */
export const STARTED_ENV = "NETAUTH_STARTED_MS";

/** Set by the launcher after admission control, never passed from the PAM environment: ms spent waiting for a slot. */
export const WAITED_ENV = "NETAUTH_WAITED_MS";

/** The launcher's WAITED_ENV as whole ms, for the decision line's `waited=`; undefined when unset or not a number. */
export function waitedMs(reported: string | undefined): number | undefined {
  return /^\d{1,9}$/.test(reported ?? "") ? Number(reported) : undefined;
}

/** A start further back than this is a misreading, not a wait (the longest `--timeout` is far shorter). */
export const MAX_BELIEVABLE_AGE_MS = 10 * 60_000;

/**
 * The shortest share of the deadline that counts as a real try at NetAuth (the outage probe's length,
 * outage/gate.ts). A call given less proves nothing about NetAuth when it fails: the time was spent before
 * the helper could ask (a caller may SIGSTOP the launcher until setpriv runs), so such a call is never made,
 * never answered from the offline cache and never recorded as an outage (docs/security.md).
 */
export const REAL_TRY_MS = 700;

/**
 * NetAuth's share from `now` until `due` (epoch ms), when it is at least REAL_TRY_MS; otherwise a HelperError
 * (exit 9, outcome `no_time`) that ends the login without asking NetAuth.
 *
 * @example
 * ```ts
 * if (realTryBudget(10_000, 8_000) !== 2_000) throw new Error("two seconds are a real try");
 * try {
 *   realTryBudget(10_000, 9_600);
 *   throw new Error("400 ms are not");
 * } catch (err) {
 *   if ((err as { outcome?: string }).outcome !== "no_time") throw err;
 * }
 * ```
 */
export function realTryBudget(due: number, now: number): number {
  const left = Math.round(due - now);
  if (left >= REAL_TRY_MS) return left;
  throw new HelperError(
    Exit.AUTHINFO_UNAVAIL,
    "no_time",
    `NetAuth not asked: ${Math.max(0, left)} ms of its share of the deadline left, under the ${REAL_TRY_MS} ms ` +
      "of a real try (the time went before the helper could ask); not answered from the offline cache",
  );
}

/** The deadline timer fires this long after the deadline: a NetAuth call's own deadline error comes first. */
export const DEADLINE_TIMER_SLACK_MS = 200;

/**
 * How much earlier NetAuth's share of the deadline ends with a cache, so the offline check still
 * fits in it: a quarter of the timeout, at most one second (one scrypt check takes about 0.1 s).
 */
export function cacheReserveMs(timeoutSeconds: number): number {
  return Math.min(1000, timeoutSeconds * 250);
}

/** The clocks the deadline reads; tests inject their own. */
export interface Clock {
  /** Wall-clock epoch ms (Date.now). */
  wall: () => number;
  /** Monotonic ms (performance.now): elapsed time immune to wall-clock steps. */
  monotonic: () => number;
  /** Calls `fire` once, `ms` from now. */
  setTimer: (fire: () => void, ms: number) => void;
}

/** The real clocks and timers. */
export const systemClock: Clock = {
  wall: () => Date.now(),
  monotonic: () => performance.now(),
  // AbortSignal.timeout, not setTimeout: Deno's global timers load node:timers (~3 MiB), which the broker's fast
  // path must not (docs/broker.md).
  setTimer: (fire, ms) => AbortSignal.timeout(Math.max(0, ms)).addEventListener("abort", () => fire()),
};

/** When this process started, and how long ago. */
export interface ProcessAge {
  /** Epoch ms of the process start (the launcher's reading), or of `processAge`'s call without one. */
  startedAt: number;
  /** Whether `startedAt` is the kernel's start time (true) or the module's (false). */
  fromKernel: boolean;
  /** Whole milliseconds since `startedAt`. */
  elapsed: () => number;
}

/** The process's age from the launcher's `reported` start (STARTED_ENV); a missing or unbelievable one counts from now. */
export function processAge(reported: string | undefined, clock: Clock = systemClock): ProcessAge {
  const wall = clock.wall();
  const at = /^\d{1,15}$/.test(reported ?? "") ? Number(reported) : NaN;
  // Later than now, or older than any login could be: not a start time this helper can trust to mean anything.
  const fromKernel = at <= wall && wall - at <= MAX_BELIEVABLE_AGE_MS;
  const startedAt = fromKernel ? at : wall;
  const origin = clock.monotonic() - (wall - startedAt);
  return { startedAt, fromKernel, elapsed: () => Math.round(clock.monotonic() - origin) };
}

/** A login's deadline: the epoch ms it falls at, and a timer armed at most once. */
export interface Deadline {
  /** Epoch ms by which the helper must have answered. */
  at: number;
  /** Starts the timer that calls `expire` once the deadline (plus slack) has passed; later calls do nothing. */
  arm: (expire: () => void) => void;
}

/** The deadline `timeoutSeconds` after the process started. */
export function loginDeadline(age: ProcessAge, timeoutSeconds: number, clock: Clock = systemClock): Deadline {
  const at = age.startedAt + timeoutSeconds * 1000;
  let armed = false;
  return {
    at,
    arm(expire) {
      if (armed) return;
      armed = true;
      clock.setTimer(expire, Math.max(0, at + DEADLINE_TIMER_SLACK_MS - clock.wall()));
    },
  };
}
