/**
 * The offline credential cache around the online decision. NetAuth's verdict always wins;
 * the cache answers only when NetAuth is unavailable: a transport failure (src/netauth/reply_checks.ts),
 * never a reply that was refused, malformed or too large.
 *
 * @module
 */
import { Exit } from "../exit_codes.ts";
import type { Logger } from "../log.ts";
import type { NetAuthClient } from "../netauth/client.ts";
import type { PamRequest } from "../pam_request.ts";
import { decide, type Decision, type PolicyOptions } from "../policy.ts";
import type { CacheEntry, CacheStore } from "./store.ts";
import { type KdfParams, makeVerifier, matches } from "./verifier.ts";
import type { VerifierMemo } from "./verifier_memo.ts";

/**
 * A new verifier is derived only while this much is left of the deadline (one scrypt takes about 0.1 s on a quiet
 * host): the login's verdict is never late for the cache; past it the entry is removed (it may hold an older
 * password), with a warning.
 */
export const KDF_RUN_MS = 250;

/** The cache a run consults, and its limits (`--cache-dir`, `--cache-max-age`, `--cache-tries`). */
export interface OfflineCache {
  /** The directory's entries. */
  store: CacheStore;
  /** How long after its last online success an entry may still answer. */
  maxAgeMs: number;
  /** Offline mismatches after which the entry is refused until the next online success. */
  tries: number;
  /** The clock entries are dated and aged by (ms since epoch). */
  now: () => number;
  /** When the answer is due (ms since epoch, real time): waiting for an entity's lock ends there. */
  deadline: number;
  /** The cost of new verifiers: CURRENT_KDF in the helper (cache/open.ts); tests pass a cheap one. */
  kdf: KdfParams;
  /** The process's verifiers for passwords NetAuth accepted a moment ago (verifier_memo.ts); none: always derive. */
  memo?: VerifierMemo;
}

/** One decision with the cache: what `decide` takes, plus the cache and where its warnings go. */
export interface CachedDecision {
  /** The PAM request, checked. */
  request: PamRequest;
  /** The password's bytes; undefined for an account check. */
  secret: Uint8Array | undefined;
  /** NetAuth, asked first. */
  client: NetAuthClient;
  /** `--require-group` and the like. */
  policy: PolicyOptions;
  /** The cache asked when NetAuth is unavailable, and updated after NetAuth answered. */
  cache: OfflineCache;
  /** Where cache warnings go. */
  logger: Logger;
}

/**
 * NetAuth's decision, with the cache around it: an online verdict always wins (and updates or drops the entry);
 * only an "unavailable" one is answered from the entry, if it is fresh, not locked out and the password matches.
 */
export async function decideWithCache(
  { request, secret, client, policy: options, cache, logger }: CachedDecision,
): Promise<Decision> {
  const online = await decide(request, secret, client, options);
  const keep = keepGoing(request.entity, logger);
  switch (online.outcome) {
    case "unavailable":
      return await decideOffline(request, secret, options, cache, online, logger);
    case "authenticated":
    case "not_in_group":
      // NetAuth took the password (the group check came after): remember it.
      if (request.type === "auth") await keep(remember(request.entity, secret!, online.groups, client, cache));
      break;
    case "denied":
    case "locked":
    case "unknown_entity":
      await keep(forget(request.entity, cache));
      break;
    case "permitted":
    case "reply_too_large":
    case "server_refused":
    case "bad_reply":
      break;
    default:
      return online satisfies never;
  }
  return { ...online, source: "netauth" };
}

type Keep = ReturnType<typeof keepGoing>;

/** A cache write that fails (disk full, permissions) is logged; it says whether it worked. */
function keepGoing(entity: string, logger: Logger) {
  return (work: Promise<void>): Promise<boolean> =>
    work.then(() => true, (err) => {
      logger.log("WARN", "cache not updated", { entity, error: String(err) });
      return false;
    });
}

/** Runs `work` holding the entity's lock; throws when it stays busy past the deadline. */
async function locked<T>(entity: string, cache: OfflineCache, work: () => Promise<T>): Promise<T> {
  const release = await cache.store.lock(entity, cache.deadline);
  if (!release) throw new Error("entry busy until the deadline");
  try {
    return await work();
  } finally {
    release();
  }
}

async function remember(
  entity: string,
  secret: Uint8Array,
  known: string[] | undefined,
  client: NetAuthClient,
  cache: OfflineCache,
): Promise<void> {
  const groups = known ?? await client.entityGroups(entity).catch(() => undefined);
  const make = () => makeVerifier(secret, cache.kdf, cache.deadline - KDF_RUN_MS);
  let derived;
  try {
    derived = cache.memo ? await cache.memo.verifierFor(entity, secret, cache.kdf, make) : await make();
  } catch (err) {
    // No time or no slot to derive this password's verifier: an entry for another (older) password must not go on
    // answering offline until it expires, so it goes; the next online login writes a new one.
    await forget(entity, cache);
    throw err;
  }
  const { kdf, salt, verifier } = derived;
  const entry = { entity, kdf, salt, verifier, groups, onlineAt: cache.now(), offlineFailures: 0 };
  await locked(entity, cache, () => cache.store.write(entry));
}

async function forget(entity: string, cache: OfflineCache): Promise<void> {
  cache.memo?.forget(entity);
  // Names never cached get no lock file: anyone can make NetAuth refuse any name.
  if (await cache.store.read(entity)) await locked(entity, cache, () => cache.store.remove(entity));
}

async function decideOffline(
  request: PamRequest,
  secret: Uint8Array | undefined,
  options: PolicyOptions,
  cache: OfflineCache,
  online: Decision,
  logger: Logger,
): Promise<Decision> {
  const unavailable = (why: string): Decision => ({
    exit: Exit.AUTHINFO_UNAVAIL,
    outcome: "unavailable",
    msg: `${online.msg}; ${why}`,
    source: "cache",
  });
  if (!(await cache.store.read(request.entity))) return unavailable("no cached credential");
  let release: (() => void) | undefined;
  try {
    release = await cache.store.lock(request.entity, cache.deadline);
  } catch (err) {
    logger.log("WARN", "cache entry not lockable", { entity: request.entity, error: String(err) });
    return unavailable("cached credential cannot be locked");
  }
  if (!release) return unavailable("cached credential busy: parallel logins held it until the deadline");
  try {
    return await judgeLocked(request, secret, options, cache, unavailable, keepGoing(request.entity, logger));
  } finally {
    release();
  }
}

/** The offline answer, with the entity's lock held. */
async function judgeLocked(
  request: PamRequest,
  secret: Uint8Array | undefined,
  options: PolicyOptions,
  cache: OfflineCache,
  unavailable: (why: string) => Decision,
  keep: Keep,
): Promise<Decision> {
  // Read again under the lock: a parallel login may have counted a try meanwhile.
  const entry = await cache.store.read(request.entity);
  if (!entry) return unavailable("no cached credential");
  if (cache.now() - entry.onlineAt > cache.maxAgeMs) return unavailable("cached credential expired");
  if (entry.offlineFailures >= cache.tries) {
    return unavailable(`cached credential disabled after ${entry.offlineFailures} offline failures`);
  }
  if (request.type === "auth") {
    // The try counts before the check and comes back only on a match, so no guess is judged
    // uncounted; one whose count cannot be written is not judged at all.
    const counted = await keep(cache.store.write({ ...entry, offlineFailures: entry.offlineFailures + 1 }));
    if (!counted) return unavailable("the offline try could not be counted");
    if (!(await matches(secret ?? new Uint8Array(), entry))) {
      return {
        exit: Exit.AUTH_ERR,
        outcome: "denied",
        msg: "wrong secret (checked against the offline cache)",
        source: "cache",
      };
    }
    await keep(cache.store.write(entry));
  }
  return checkCachedGroups(entry, options.requireGroups) ?? permitted(request);
}

function permitted(request: PamRequest): Decision {
  return request.type === "auth"
    ? { exit: Exit.SUCCESS, outcome: "authenticated", msg: "authenticated from the offline cache", source: "cache" }
    : { exit: Exit.SUCCESS, outcome: "permitted", msg: "account permitted from the offline cache", source: "cache" };
}

function checkCachedGroups(entry: CacheEntry, required: string[]): Decision | undefined {
  if (required.length === 0) return undefined;
  if (!entry.groups) {
    return { exit: Exit.AUTHINFO_UNAVAIL, outcome: "unavailable", msg: "groups were not cached", source: "cache" };
  }
  if (required.some((g) => entry.groups!.includes(g))) return undefined;
  return {
    exit: Exit.PERM_DENIED,
    outcome: "not_in_group",
    msg: `not a member of any required group (${required.join(", ")}), per the offline cache`,
    source: "cache",
  };
}
