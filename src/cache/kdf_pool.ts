/**
 * How many scrypt derivations run at once in this process: each takes 32 MiB (verifier.ts CURRENT_KDF) on the
 * runtime's thread pool, which otherwise runs as many as are asked for. In the broker a storm of 200 correct
 * logins asked for 200 at once (over 1 GiB); bounded, they queue for a few slots, the CPU count, which is all
 * that can run at a time anyway. A direct login derives once, so it never waits.
 *
 * @module
 */
import { Semaphore } from "../semaphore.ts";

/** Derivations at once: the CPU count, between 1 and 4 (128 MiB at most). */
export const KDF_SLOTS: number = Math.max(1, Math.min(navigator.hardwareConcurrency || 1, 4));

const pool = new Semaphore(KDF_SLOTS);

/** Why a derivation did not run: no slot came free before the login's deadline. */
export class KdfBusyError extends Error {
  constructor() {
    super("key derivation busy until the deadline");
    this.name = "KdfBusyError";
  }
}

/** Runs `derivation` in one of the KDF_SLOTS, waiting in line until `deadline` (ms since epoch), else KdfBusyError. */
export function withKdfSlot<T>(derivation: () => Promise<T>, deadline?: number): Promise<T> {
  return pool.run(derivation, deadline, () => new KdfBusyError());
}

/** Derivations running and waiting now (tests, and the broker's numbers). */
export function kdfPoolState(): { running: number; waiting: number } {
  return { running: pool.active, waiting: pool.waiting };
}
