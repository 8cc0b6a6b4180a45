/**
 * A counting semaphore with a FIFO queue and a deadline per waiter: the one bound the broker puts on
 * what a storm multiplies (logins decided at once, key derivations, streams on the warm channel).
 *
 * @module
 */

/** Returns the slot; calling it again does nothing. */
export type Release = () => void;

interface Waiter {
  grant: (release: Release | undefined) => void;
  timer?: ReturnType<typeof setTimeout>;
}

/**
 * At most `limit` holders at once; the others wait in arrival order, each until its deadline.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const slots = new Semaphore(1);
 * const first = await slots.acquire();
 * assert.equal(await slots.acquire(Date.now() + 10), undefined); // still held: the second gives up
 * first!();
 * assert.equal(slots.active, 0);
 * ```
 */
export class Semaphore {
  #active = 0;
  readonly #waiting: Waiter[] = [];

  /** `limit`: holders at once, at least 1. */
  constructor(readonly limit: number) {
    if (!(Number.isInteger(limit) && limit >= 1)) throw new RangeError(`a semaphore needs a limit of 1 or more`);
  }

  /** Slots held now. */
  get active(): number {
    return this.#active;
  }

  /** Callers waiting now. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** A free slot at once, or undefined: never waits. */
  tryAcquire(): Release | undefined {
    if (this.#active >= this.limit) return undefined;
    this.#active++;
    return this.#releaser();
  }

  /** A slot, waiting in line for one until `deadline` (ms since epoch; none: as long as it takes), else undefined. */
  acquire(deadline = Number.POSITIVE_INFINITY): Promise<Release | undefined> {
    const now = this.tryAcquire();
    if (now) return Promise.resolve(now);
    if (deadline <= Date.now()) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const waiter: Waiter = { grant: resolve };
      if (Number.isFinite(deadline)) {
        waiter.timer = setTimeout(() => {
          const at = this.#waiting.indexOf(waiter);
          if (at >= 0) this.#waiting.splice(at, 1);
          resolve(undefined);
        }, deadline - Date.now());
      }
      this.#waiting.push(waiter);
    });
  }

  /** Runs `work` holding a slot; throws `busy()` when none came by `deadline`. */
  async run<T>(
    work: () => Promise<T>,
    deadline?: number,
    busy: () => Error = () => new Error("no free slot until the deadline"),
  ): Promise<T> {
    const release = await this.acquire(deadline);
    if (!release) throw busy();
    try {
      return await work();
    } finally {
      release();
    }
  }

  #releaser(): Release {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.#waiting.shift();
      if (!next) {
        this.#active--;
        return;
      }
      clearTimeout(next.timer);
      next.grant(this.#releaser()); // the slot passes on: the count stays
    };
  }
}
