/**
 * The outage record: one root-only file saying NetAuth was found unavailable, since when, in
 * which phase, and when the last full try began. Calls read it to choose between a full try and
 * a short probe; only a failed full try writes it, any answer from NetAuth removes it. Written
 * like the cache's entries (temp file and rename, under an flock: cache/lock.ts), so parallel
 * calls never see a torn record. The choice is pure (attemptFor) so tests inject the time.
 *
 * @module
 */
import { lockFile } from "../cache/lock.ts";
import type { Phase } from "../netauth/client.ts";

/** The `format` every record carries; anything else reads as no record. */
export const RECORD_FORMAT = "netauth-pam-helper/outage/v1";
/** The record's file name in its directory: never a cache entry's (those are SHA-256 hex). */
export const RECORD_FILE = "outage.json";
const LOCK_FILE = "outage.lock";

/** How far the connection got before the failure (the client's Phase: TCP, the TLS handshake, the call). */
export type OutagePhase = Phase;

/** One outage as recorded: its start, the last failure's phase, the last full try. */
export interface OutageRecord {
  /** First failure of this outage (ms since epoch). */
  since: number;
  /** The phase of the latest recorded failure. */
  phase: OutagePhase;
  /** When the latest full try began (ms since epoch): the window counts from here. */
  fullTryAt: number;
}

/** A full try (the run's whole deadline) or a short probe. */
export type Attempt = "full" | "probe";

/**
 * The attempt for a call at `now`: a full try without a record or once the window since the last
 * full try has passed (or the clock went back before it); a probe while the window is fresh.
 */
export function attemptFor(record: OutageRecord | undefined, now: number, windowMs: number): Attempt {
  if (!record) return "full";
  const age = now - record.fullTryAt;
  return age >= 0 && age < windowMs ? "probe" : "full";
}

/** The record's file text (JSON, times in ISO 8601). */
export function serializeRecord(record: OutageRecord): string {
  return JSON.stringify({
    format: RECORD_FORMAT,
    since: new Date(record.since).toISOString(),
    phase: record.phase,
    fullTryAt: new Date(record.fullTryAt).toISOString(),
  }) + "\n";
}

/** The record, or undefined for anything malformed (which then counts as no record: a full try). */
export function parseRecord(text: string): OutageRecord | undefined {
  try {
    const raw = JSON.parse(text);
    const since = Date.parse(raw.since), fullTryAt = Date.parse(raw.fullTryAt);
    if (raw.format !== RECORD_FORMAT || !Number.isFinite(since) || !Number.isFinite(fullTryAt)) return undefined;
    if (!["connect", "tls", "rpc"].includes(raw.phase)) return undefined;
    return { since, phase: raw.phase, fullTryAt };
  } catch {
    return undefined;
  }
}

/** The record's file in a root-only directory: the cache directory, else the runtime's (docs/configuration.md, "Outages"). */
export class OutageStore {
  /** `dir`: a root-only directory (the cache's or the runtime's TMPDIR). */
  constructor(readonly dir: string) {}

  /** The record file's path. */
  get path(): string {
    return `${this.dir}/${RECORD_FILE}`;
  }

  /** The record; undefined when there is none; throws when it cannot be read. */
  async read(): Promise<OutageRecord | undefined> {
    try {
      return parseRecord(await Deno.readTextFile(this.path));
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return undefined;
      throw err;
    }
  }

  /** The exclusive lock every writer holds, or undefined when still busy at `deadline`. */
  lock(deadline: number): Promise<(() => void) | undefined> {
    return lockFile(`${this.dir}/${LOCK_FILE}`, deadline);
  }

  /** Atomic: readers see the old record or the new one, never a torn file. */
  async write(record: OutageRecord): Promise<void> {
    const temp = `${this.dir}/.tmp-outage-${crypto.getRandomValues(new Uint8Array(8)).toHex()}`;
    try {
      // Readable by all: it holds no secret, and a screen locker running as the user may follow it too.
      await Deno.writeTextFile(temp, serializeRecord(record), { mode: 0o644, createNew: true });
      await Deno.rename(temp, this.path);
    } catch (err) {
      await Deno.remove(temp).catch(() => {});
      throw err;
    }
  }

  /** Removes the record; none there is fine. */
  async remove(): Promise<void> {
    await Deno.remove(this.path).catch((err) => {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    });
  }
}
