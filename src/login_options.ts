/**
 * The options of a PAM line that decide a login, as one type: the direct path takes them from its argv, the
 * broker from the request (broker/protocol.ts BrokerLine), and login.ts applies them. Types only: the
 * broker's fast path imports it and must load nothing.
 *
 * @module
 */

/** The options of the PAM line that asked: what decides a login beyond the request itself. */
export interface LoginOptions {
  /** `--timeout`: the cache's reserve is a share of it. */
  timeoutSeconds: number;
  /** `--require-group` names; empty means no group check. */
  requireGroups: string[];
  /** `--cache-dir`, `--cache-max-age`, `--cache-tries`, when the cache is on. */
  cache?: { dir: string; maxAgeMs: number; tries: number };
  /** `--outage-window`, in ms. */
  outageWindowMs: number;
  /** `--runtime-dir`: without a cache, the outage record lives in its tmp/. */
  runtimeDir?: string;
}
