/**
 * What the broker holds at once in a storm. Every connection it accepts is greeted at once (nothing the broker does
 * waits before the greeting), up to MAX_IN_FLIGHT; one more is refused `busy` without a greeting and that login goes
 * direct. Of those in flight, MAX_DECIDING logins are decided at a time; the others wait in line, in arrival order,
 * each for at most half of what its deadline leaves (then `busy`: the login goes direct with the other half). So
 * what a storm multiplies (streams on the channel, promises, buffers) stays bounded, and the broker's own work never
 * starves its accepting and greeting.
 *
 * @module
 */
import { type Release, Semaphore } from "../semaphore.ts";

/** Connections held at once (greeted, reading, waiting or deciding); one more is refused `busy` on sight. */
export const MAX_IN_FLIGHT = 256;
/** Logins decided at once: each holds at most one call on the warm channel (grpc_client.ts MAX_CALLS_PER_CHANNEL). */
export const MAX_DECIDING = 32;

/** The broker's two bounds: a place in flight at accept, then a turn to decide. */
export class Admission {
  #inFlight = 0;
  readonly #deciding: Semaphore;

  /** The bounds, MAX_IN_FLIGHT and MAX_DECIDING unless a test says. */
  constructor(readonly maxInFlight: number = MAX_IN_FLIGHT, readonly maxDeciding: number = MAX_DECIDING) {
    this.#deciding = new Semaphore(maxDeciding);
  }

  /** Connections held now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Logins waiting for their turn now. */
  get waiting(): number {
    return this.#deciding.waiting;
  }

  /** At accept: the place this connection holds until it is done, or undefined (refuse it `busy`). */
  enter(): Release | undefined {
    if (this.#inFlight >= this.maxInFlight) return undefined;
    this.#inFlight++;
    let left = false;
    return () => {
      if (!left) this.#inFlight--;
      left = true;
    };
  }

  /**
   * With the request read: a turn to decide it, waiting in line for at most half of `remainingMs` (the login's
   * deadline, as the helper sent it), or undefined (refuse it `busy`: the login goes direct with the rest).
   */
  turn(remainingMs: number): Promise<Release | undefined> {
    return this.#deciding.acquire(Date.now() + Math.max(0, remainingMs) / 2);
  }
}
