/**
 * One file per entity in the cache directory, named by a hash of the entity ID (no ID can
 * escape the directory or collide with a temp file), written to a temp file and renamed;
 * beside it the entity's lock file (lock.ts).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { type Info, octal, walkModes } from "../file_modes.ts";
import { lockFile } from "./lock.ts";
import { isSaneKdf, type KdfParams } from "./verifier.ts";

/** The `format` every entry file carries; an entry with any other is ignored. */
export const ENTRY_FORMAT = "netauth-pam-helper/cache/v1";
/** A cache directory this helper's sandbox was not built for. */
export const OUTSIDE_SANDBOX = "is outside this helper's sandbox (install it with --cache-dir)";

/** One entity's entry: what an offline login is judged against. Never the password itself. */
export interface CacheEntry {
  /** The entity ID, checked against the request's on every read. */
  entity: string;
  /** How the verifier was derived. */
  kdf: KdfParams;
  /** The entry's random salt. */
  salt: Uint8Array;
  /** The derived key of the last password NetAuth accepted. */
  verifier: Uint8Array;
  /** Groups (direct and indirect) at the last online success; undefined when they could not be read. */
  groups?: string[];
  /** Last online success, ms since epoch: the entry's age counts from here. */
  onlineAt: number;
  /** Offline mismatches since then. */
  offlineFailures: number;
}

/** The SHA-256 of the ID in hex: fixed length, whatever the ID holds. */
function entityHash(entity: string): string {
  return createHash("sha256").update(entity, "utf8").digest("hex");
}

/** `<sha256 of the ID>.json` */
export function entryFileName(entity: string): string {
  return `${entityHash(entity)}.json`;
}

/** The entry file's JSON text (bytes in base64, the time in ISO 8601). */
export function serialize(entry: CacheEntry): string {
  return JSON.stringify(
    {
      format: ENTRY_FORMAT,
      entity: entry.entity,
      kdf: entry.kdf,
      salt: entry.salt.toBase64(),
      verifier: entry.verifier.toBase64(),
      groups: entry.groups,
      onlineAt: new Date(entry.onlineAt).toISOString(),
      offlineFailures: entry.offlineFailures,
    },
    null,
    2,
  ) + "\n";
}

/** The entry for `entity`, or undefined for anything corrupt, foreign or for another entity. */
export function parse(text: string, entity: string): CacheEntry | undefined {
  try {
    const raw = JSON.parse(text);
    const onlineAt = Date.parse(raw.onlineAt);
    const groupsOk = raw.groups === undefined ||
      (Array.isArray(raw.groups) && raw.groups.every((g: unknown) => typeof g === "string"));
    if (
      raw.format !== ENTRY_FORMAT || raw.entity !== entity || !isSaneKdf(raw.kdf) || !groupsOk ||
      !Number.isFinite(onlineAt) || !Number.isInteger(raw.offlineFailures) || raw.offlineFailures < 0
    ) return undefined;
    const salt = decodeBase64(raw.salt), verifier = decodeBase64(raw.verifier);
    if (!salt || !verifier || salt.length < 16 || verifier.length !== raw.kdf.keyLength) return undefined;
    return { entity, kdf: raw.kdf, salt, verifier, groups: raw.groups, onlineAt, offlineFailures: raw.offlineFailures };
  } catch {
    return undefined;
  }
}

function decodeBase64(value: unknown): Uint8Array | undefined {
  if (typeof value !== "string") return undefined;
  try {
    return Uint8Array.fromBase64(value);
  } catch {
    return undefined;
  }
}

/** The entries of one cache directory, already checked by `unusableReason`. */
export class CacheStore {
  /** `dir`: the cache directory (`--cache-dir`). */
  constructor(readonly dir: string) {}

  /** The entity's entry file. */
  pathFor(entity: string): string {
    return `${this.dir}/${entryFileName(entity)}`;
  }

  /** The entity's lock file. */
  lockPathFor(entity: string): string {
    return `${this.dir}/${entityHash(entity)}.lock`;
  }

  /** The entity's exclusive lock, or undefined when it is still held by another login at `deadline`. */
  lock(entity: string, deadline: number): Promise<(() => void) | undefined> {
    return lockFile(this.lockPathFor(entity), deadline);
  }

  /** The entity's entry, or undefined when there is none or it is unreadable, corrupt or another's. */
  async read(entity: string): Promise<CacheEntry | undefined> {
    const text = await Deno.readTextFile(this.pathFor(entity)).catch(() => undefined);
    return text === undefined ? undefined : parse(text, entity);
  }

  /** Atomic: readers see the old entry or the new one, never a torn file. */
  async write(entry: CacheEntry): Promise<void> {
    const random = crypto.getRandomValues(new Uint8Array(8)).toHex();
    const temp = `${this.dir}/.tmp-${random}`;
    try {
      await Deno.writeTextFile(temp, serialize(entry), { mode: 0o600, createNew: true });
      await Deno.rename(temp, this.pathFor(entry.entity));
    } catch (err) {
      await Deno.remove(temp).catch(() => {});
      throw err;
    }
  }

  /** Drops the entity's entry; a missing one is fine. */
  async remove(entity: string): Promise<void> {
    await Deno.remove(this.pathFor(entity)).catch((err) => {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    });
  }
}

/**
 * Why `dir` cannot hold secrets' verifiers for user `uid`, or undefined when it can: it must
 * exist, be a directory owned by the running user and closed to group and others, and the
 * directories above it must pass the config's strict modes (as far as the sandbox lets us look).
 */
export async function unusableReason(dir: string, uid: number | null): Promise<string | undefined> {
  const result = await walkModes(dir, { uid, leafRule: (info) => privateDirProblem(info, uid) });
  switch (result.state) {
    case "ok":
      return undefined;
    case "missing":
      return "does not exist";
    case "outside":
      return OUTSIDE_SANDBOX;
    case "unsafe":
      return result.above ? `is below ${result.path}, which ${result.reason}` : result.reason;
  }
}

function privateDirProblem(info: Info, uid: number | null): string | undefined {
  if (!info.isDirectory) return "is not a directory";
  if (uid !== null && info.uid !== uid) return `is owned by uid ${info.uid}, not by the running user (uid ${uid})`;
  if (((info.mode ?? 0) & 0o077) !== 0) return `is open to group or others (mode ${octal(info)}; want 700)`;
  return undefined;
}
