/**
 * Turning --cache-dir on: check the directory, then hand out a decision function that
 * consults the cache. Loaded only when a cache is configured.
 *
 * @module
 */
import { runningUid } from "../file_modes.ts";
import type { Logger } from "../log.ts";
import type { Decide } from "../policy.ts";
import { decideWithCache } from "./offline.ts";
import { CacheStore, OUTSIDE_SANDBOX, unusableReason } from "./store.ts";
import { CURRENT_KDF } from "./verifier.ts";
import { verifierMemo } from "./verifier_memo.ts";

/** Why the cache directory cannot be used, or undefined when it can. */
export async function cacheProblem(dir: string): Promise<string | undefined> {
  const uid = runningUid();
  // Without sys:uid (a sandbox from an older install) the owner cannot be checked: skip the cache.
  return uid === null ? OUTSIDE_SANDBOX : await unusableReason(dir, uid);
}

/**
 * The cached decision, or undefined with a warning: an unusable directory must never break logins.
 * `deadline` (ms since epoch) is when the run's answer is due; waiting for an entry's lock ends there.
 */
export async function openCache(
  settings: { dir: string; maxAgeMs: number; tries: number },
  logger: Logger,
  deadline: number,
): Promise<Decide | undefined> {
  const problem = await cacheProblem(settings.dir);
  if (problem) {
    logger.log("WARN", `offline cache skipped: ${settings.dir} ${problem}`, { cache: settings.dir });
    return undefined;
  }
  const cache = {
    store: new CacheStore(settings.dir),
    maxAgeMs: settings.maxAgeMs,
    tries: settings.tries,
    now: Date.now,
    deadline,
    kdf: CURRENT_KDF,
    memo: verifierMemo,
  };
  return (request, secret, client, policy) => decideWithCache({ request, secret, client, policy, cache, logger });
}
