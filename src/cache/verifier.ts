/**
 * The offline verifier: scrypt (memory-hard) over the password with a random per-entry salt.
 * Parameters travel with each entry, so raising them later needs no migration.
 *
 * @module
 */
import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import { withKdfSlot } from "./kdf_pool.ts";

/** The key derivation an entry was made with; stored beside its verifier. */
export interface KdfParams {
  /** The only function used: scrypt. */
  name: "scrypt";
  /** CPU/memory cost, a power of two: memory is 128 * N * r bytes (32 MiB here). */
  N: number;
  /** Block size. */
  r: number;
  /** Parallelism. */
  p: number;
  /** Length of the derived key in bytes. */
  keyLength: number;
}

/** Measured on the CI machine: about 0.1 s and 32 MiB per derivation (docs/configuration.md, "Offline cache"). */
export const CURRENT_KDF: KdfParams = { name: "scrypt", N: 2 ** 15, r: 8, p: 1, keyLength: 32 };
/** Length of each entry's random salt. */
export const SALT_BYTES = 16;

/** Bounds for parameters read back from disk: a tampered entry must not pin the CPU or memory. */
export function isSaneKdf(kdf: unknown): kdf is KdfParams {
  const k = kdf as KdfParams;
  return typeof k === "object" && k !== null && k.name === "scrypt" &&
    Number.isInteger(Math.log2(k.N)) && k.N >= 2 ** 10 && k.N <= 2 ** 20 &&
    Number.isInteger(k.r) && k.r >= 1 && k.r <= 32 &&
    Number.isInteger(k.p) && k.p >= 1 && k.p <= 16 &&
    Number.isInteger(k.keyLength) && k.keyLength >= 16 && k.keyLength <= 64;
}

/**
 * `secret` as bytes: a password that is not UTF-8 is verified exactly as NetAuth checked it. At most KDF_SLOTS run at
 * once in a process (kdf_pool.ts); one that gets no slot before `deadline` rejects with KdfBusyError.
 */
export function derive(
  secret: Uint8Array | string,
  salt: Uint8Array,
  kdf: KdfParams,
  deadline?: number,
): Promise<Uint8Array> {
  return withKdfSlot(
    () =>
      new Promise((resolve, reject) =>
        scrypt(
          secret,
          salt,
          kdf.keyLength,
          { N: kdf.N, r: kdf.r, p: kdf.p, maxmem: 256 * kdf.N * kdf.r },
          (err, key) => err ? reject(err) : resolve(new Uint8Array(key)),
        )
      ),
    deadline,
  );
}

/** A new salt and the verifier of `secret` under it, to store after NetAuth accepted the password. */
export async function makeVerifier(
  secret: Uint8Array | string,
  kdf: KdfParams = CURRENT_KDF,
  deadline?: number,
): Promise<Verifier> {
  const salt = new Uint8Array(randomBytes(SALT_BYTES));
  return { kdf, salt, verifier: await derive(secret, salt, kdf, deadline) };
}

/** A verifier and how it was made: what an entry stores beside the entity. */
export interface Verifier {
  /** The derivation's parameters. */
  kdf: KdfParams;
  /** Its random salt. */
  salt: Uint8Array;
  /** The derived key. */
  verifier: Uint8Array;
}

/** Whether `secret` derives to the stored verifier; compared in constant time. */
export async function matches(
  secret: Uint8Array | string,
  entry: { kdf: KdfParams; salt: Uint8Array; verifier: Uint8Array },
): Promise<boolean> {
  const candidate = await derive(secret, entry.salt, entry.kdf);
  return candidate.length === entry.verifier.length && timingSafeEqual(candidate, entry.verifier);
}
