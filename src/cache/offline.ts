// The offline credential cache around the online decision. NetAuth's verdict always wins;
// the cache answers only when NetAuth is unavailable (unreachable, deadline, TLS, transport).
import { Exit } from "../exit_codes.ts";
import type { Logger } from "../log.ts";
import type { NetAuthClient } from "../netauth/client.ts";
import type { PamRequest } from "../pam_request.ts";
import { decide, type Decision, type PolicyOptions } from "../policy.ts";
import type { CacheEntry, CacheStore } from "./store.ts";
import { makeVerifier, matches } from "./verifier.ts";

export interface OfflineCache {
  store: CacheStore;
  maxAgeMs: number;
  /** Offline mismatches after which the entry is refused until the next online success. */
  tries: number;
  now: () => number;
}

export async function decideWithCache(
  request: PamRequest,
  secret: Uint8Array | undefined,
  client: NetAuthClient,
  options: PolicyOptions,
  cache: OfflineCache,
  logger: Logger,
): Promise<Decision> {
  const online = await decide(request, secret, client, options);
  const keep = keepGoing(request.entity, logger);
  if (online.outcome === "unavailable") return await decideOffline(request, secret, options, cache, online, keep);
  const passwordRight = request.type === "auth" && (online.exit === Exit.SUCCESS || online.outcome === "not_in_group");
  if (passwordRight) {
    await keep(remember(request.entity, secret!, online.groups, client, cache));
  } else if (["denied", "locked", "unknown_entity"].includes(online.outcome)) {
    await keep(cache.store.remove(request.entity));
  }
  return { ...online, source: "netauth" };
}

/** A cache write that fails (disk full, permissions) is logged and never changes the verdict. */
function keepGoing(entity: string, logger: Logger) {
  return (work: Promise<void>) =>
    work.catch((err) => logger.log("WARN", "cache not updated", { entity, error: String(err) }));
}

async function remember(
  entity: string,
  secret: Uint8Array,
  known: string[] | undefined,
  client: NetAuthClient,
  cache: OfflineCache,
): Promise<void> {
  const groups = known ?? await client.entityGroups(entity).catch(() => undefined);
  const { kdf, salt, verifier } = await makeVerifier(secret);
  await cache.store.write({ entity, kdf, salt, verifier, groups, onlineAt: cache.now(), offlineFailures: 0 });
}

async function decideOffline(
  request: PamRequest,
  secret: Uint8Array | undefined,
  options: PolicyOptions,
  cache: OfflineCache,
  online: Decision,
  keep: ReturnType<typeof keepGoing>,
): Promise<Decision> {
  const unavailable = (why: string): Decision => ({
    exit: Exit.AUTHINFO_UNAVAIL,
    outcome: "unavailable",
    msg: `${online.msg}; ${why}`,
    source: "cache",
  });
  const entry = await cache.store.read(request.entity);
  if (!entry) return unavailable("no cached credential");
  if (cache.now() - entry.onlineAt > cache.maxAgeMs) return unavailable("cached credential expired");
  if (entry.offlineFailures >= cache.tries) {
    return unavailable(`cached credential disabled after ${entry.offlineFailures} offline failures`);
  }
  if (request.type === "auth" && !(await matches(secret ?? new Uint8Array(), entry))) {
    await keep(cache.store.write({ ...entry, offlineFailures: entry.offlineFailures + 1 }));
    return {
      exit: Exit.AUTH_ERR,
      outcome: "denied",
      msg: "wrong secret (checked against the offline cache)",
      source: "cache",
    };
  }
  const groupDenial = checkCachedGroups(entry, options.requireGroups);
  if (groupDenial) return groupDenial;
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
