/**
 * The verifiers this process derived, by entity, so that an online success for a password it derived a verifier
 * for a moment ago reuses that one instead of a fresh 32 MiB scrypt: what a storm of correct logins (or one user's
 * many sessions) would otherwise multiply. Only for writing after NetAuth accepted the password: it is never asked
 * whether a password is right, so it decides nothing, and a changed password (another tag), new KDF parameters or a
 * memo older than MEMO_TTL_MS derive afresh. Concurrent successes with the same password share one derivation.
 *
 * What it holds, in this process's memory only (never written): per entity, an HMAC-SHA-256 of the entity and the
 * password under a random key made at first use (a WebCrypto key that cannot be exported), and the verifier the
 * cache entry stores anyway. Whoever can read the broker's memory could test guesses against a tag faster than
 * against scrypt, but could as well read the passwords of the logins in flight: the memo keeps at most
 * MEMO_ENTRIES tags, each for MEMO_TTL_MS.
 *
 * @module
 */
import type { KdfParams, Verifier } from "./verifier.ts";

/** How long a derived verifier is reused for the same password. */
export const MEMO_TTL_MS = 10 * 60_000;
/** Entities remembered at most; the oldest go first. */
export const MEMO_ENTRIES = 1024;

interface Memo {
  tag: Uint8Array;
  kdf: string;
  at: number;
  made: Promise<Verifier>;
}

/** One per process (`verifierMemo`); tests make their own. */
export class VerifierMemo {
  #key: Promise<CryptoKey> | undefined;
  readonly #memos = new Map<string, Memo>();

  /** `now`: the clock memos age by; `ttlMs` and `capacity`: MEMO_TTL_MS and MEMO_ENTRIES unless a test says. */
  constructor(
    readonly now: () => number = Date.now,
    readonly ttlMs: number = MEMO_TTL_MS,
    readonly capacity: number = MEMO_ENTRIES,
  ) {}

  /** Entities remembered now. */
  get size(): number {
    return this.#memos.size;
  }

  /**
   * The verifier of `secret` for `entity`: the one derived for the same password and `kdf` within the last
   * `ttlMs` (or being derived now), else the one `make` derives. Call only once NetAuth has accepted `secret`.
   */
  async verifierFor(
    entity: string,
    secret: Uint8Array,
    kdf: KdfParams,
    make: () => Promise<Verifier>,
  ): Promise<Verifier> {
    const tag = await this.#tag(entity, secret);
    const kdfId = JSON.stringify([kdf.name, kdf.N, kdf.r, kdf.p, kdf.keyLength]);
    const held = this.#memos.get(entity);
    if (held && held.kdf === kdfId && this.now() - held.at < this.ttlMs && sameTag(held.tag, tag)) {
      return await held.made;
    }
    const memo: Memo = { tag, kdf: kdfId, at: this.now(), made: make() };
    this.#memos.delete(entity); // re-inserted last: the map stays oldest first
    this.#memos.set(entity, memo);
    this.#prune();
    memo.made.catch(() => {
      if (this.#memos.get(entity) === memo) this.#memos.delete(entity);
    });
    return await memo.made;
  }

  /** Drops what is known of `entity` (NetAuth refused it: wrong password, locked, unknown). */
  forget(entity: string): void {
    this.#memos.delete(entity);
  }

  #prune(): void {
    for (const [entity, memo] of this.#memos) {
      if (this.#memos.size <= this.capacity && this.now() - memo.at < this.ttlMs) break;
      this.#memos.delete(entity);
    }
  }

  async #tag(entity: string, secret: Uint8Array): Promise<Uint8Array> {
    this.#key ??= crypto.subtle.generateKey({ name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    const name = new TextEncoder().encode(entity);
    const input = new Uint8Array(4 + name.length + secret.length);
    new DataView(input.buffer).setUint32(0, name.length);
    input.set(name, 4);
    input.set(secret, 4 + name.length);
    try {
      return new Uint8Array(await crypto.subtle.sign("HMAC", await this.#key, input));
    } finally {
      input.fill(0); // held the password
    }
  }
}

/** Constant time over the tag's bytes. */
function sameTag(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < Math.min(a.length, b.length); i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/** This process's memo: the broker's lasts; a direct login's process makes one entry at most and ends. */
export const verifierMemo: VerifierMemo = new VerifierMemo();
