/**
 * The broker's wire format, helper <-> broker over the root-only unix socket. A frame is a 4-byte
 * big-endian length, then that many bytes: protocol version, kind, body. Every length is bounded and
 * checked before use; anything malformed is a ProtocolError (one line), never a crash.
 * No Deno or node: API here: the helper's fast path loads this and must stay small.
 *
 * @module
 */

/**
 * Bumped on any change to the bytes below; a peer speaking another version is refused. Version 2 is not released
 * yet: its `ASK` and `STATUS` kinds (the broker vouching for its code, broker/vouch.ts) were added without a bump.
 */
export const PROTOCOL_VERSION = 2;
/** The largest frame body either side accepts: a request with 512 password bytes fits many times over. */
export const MAX_FRAME_BYTES = 8192;
/** The longest field (user, service, host, group, password), checked on both sides. */
export const MAX_FIELD_BYTES = 1024;
/** The most --require-group names a request carries. */
export const MAX_GROUPS = 64;

/**
 * The frame kinds: the broker's greeting, the helper's request, the broker's reply or refusal; and `--check`'s or
 * `--verify`'s question (ASK) with the broker's answer (STATUS): which code it started from, and when.
 */
export const Kind = { HELLO: 1, REQUEST: 2, REPLY: 3, REFUSED: 4, ASK: 5, STATUS: 6 } as const;

/**
 * The options of the PAM line that asked, as the broker applies them (or refuses, and the login goes
 * direct): the same login.ts LoginOptions, plus the config the line names. Empty strings mean "none".
 */
export interface BrokerLine {
  /** `--config`: the broker serves only the config it was started with. */
  configPath: string;
  /** `--timeout` in ms (the cache's reserve is a share of it). */
  timeoutMs: number;
  /** `--require-group` names. */
  requireGroups: string[];
  /** `--cache-dir`, or empty without a cache. */
  cacheDir: string;
  /** `--cache-max-age` in ms (0 without a cache). */
  cacheMaxAgeMs: number;
  /** `--cache-tries` (0 without a cache). */
  cacheTries: number;
  /** `--outage-window` in ms. */
  outageWindowMs: number;
  /** `--runtime-dir`, or empty. */
  runtimeDir: string;
}

/** What the helper forwards: the PAM request's fields as pam_exec gave them, its line's options, the password. */
export interface BrokerRequest {
  /** PAM_TYPE. */
  type: "auth" | "account";
  /** Milliseconds left until the helper's deadline: the broker answers within them. */
  remainingMs: number;
  /** PAM_USER, PAM_SERVICE, PAM_RHOST, PAM_RUSER and PAM_TTY as pam_exec gave them (empty when unset). */
  user: string;
  /** PAM_SERVICE. */
  service: string;
  /** PAM_RHOST, or empty. */
  rhost: string;
  /** PAM_RUSER, or empty. */
  ruser: string;
  /** PAM_TTY, or empty. */
  tty: string;
  /** The PAM line's options. */
  line: BrokerLine;
  /** Empty for account. The frame holding it is zeroed by whoever encoded or read it. */
  secret: Uint8Array;
}

/** The broker's decision, as the helper would have logged it. */
export interface BrokerReply {
  /** The PAM exit code. */
  exit: number;
  /** The decision line's outcome word. */
  outcome: string;
  /** The decision line's message. */
  msg: string;
  /** Who decided, with a cache: NetAuth or the offline cache. */
  source?: "netauth" | "cache";
  /** The outage record as this login left it (outage/gate.ts fields), for the helper's decision line. */
  outage?: "recorded" | "cleared";
  /** With `outage: "recorded"`: since when (ISO 8601). */
  since?: string;
  /** With `outage: "recorded"`: the try this login made. */
  attempt?: "full" | "probe";
}

/** What the broker says of itself when asked (`ASK`): the code it started from, hashed at its start. */
export interface BrokerStatus {
  /** The helper's version it runs. */
  version: string;
  /** When its process started, in epoch ms. */
  startedMs: number;
  /** broker/vouch.ts codeDigest of the artefact and chunks as read at its start; empty when it could not tell. */
  code: string;
  /** What it found wrong with its code at start (against its manifest), or empty. */
  problem: string;
}

/** A decoded frame. */
export type Frame =
  | { kind: "hello" }
  | { kind: "request"; request: BrokerRequest }
  | { kind: "reply"; reply: BrokerReply }
  | { kind: "refused"; reason: string }
  | { kind: "ask" }
  | { kind: "status"; status: BrokerStatus };

/** A frame that cannot be accepted: too long, truncated, wrong version, or fields out of bounds. */
export class ProtocolError extends Error {
  /** `message`: one line naming what was wrong. */
  constructor(message: string) {
    super(message);
    this.name = "ProtocolError";
  }
}

const TYPES = ["auth", "account"] as const;
const SOURCES = [undefined, "netauth", "cache"] as const;
const OUTAGES = [undefined, "recorded", "cleared"] as const;
const ATTEMPTS = [undefined, "full", "probe"] as const;
const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** Builds frames into one buffer of exactly the needed size (so a secret is copied once, and zeroed once). */
class Writer {
  private parts: Uint8Array[] = [];
  private length = 0;
  u8(value: number): this {
    return this.raw(Uint8Array.of(value));
  }
  u32(value: number): this {
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setUint32(0, value);
    return this.raw(bytes);
  }
  /** A whole number up to 2^53, as a float64: durations in ms that outgrow 32 bits (`--cache-max-age 999999w`). */
  num(value: number): this {
    if (!Number.isSafeInteger(value) || value < 0) throw new ProtocolError(`${value} is not a whole number`);
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setFloat64(0, value);
    return this.raw(bytes);
  }
  bytes(value: Uint8Array, limit = MAX_FIELD_BYTES): this {
    if (value.length > limit) throw new ProtocolError(`field of ${value.length} bytes, over the limit of ${limit}`);
    return this.raw(Uint8Array.of(value.length >> 8, value.length & 0xff)).raw(value);
  }
  text(value: string): this {
    return this.bytes(encoder.encode(value));
  }
  private raw(value: Uint8Array): this {
    this.parts.push(value);
    this.length += value.length;
    return this;
  }
  /** The whole frame: length prefix, version, kind, body. */
  frame(kind: number): Uint8Array {
    const bodyLength = 2 + this.length;
    if (bodyLength > MAX_FRAME_BYTES) throw new ProtocolError(`frame of ${bodyLength} bytes, over ${MAX_FRAME_BYTES}`);
    const out = new Uint8Array(4 + bodyLength);
    new DataView(out.buffer).setUint32(0, bodyLength);
    out.set([PROTOCOL_VERSION, kind], 4);
    let at = 6;
    for (const part of this.parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }
}

/** The broker's greeting, sent on accept: it is alive and speaks this version. */
export function encodeHello(): Uint8Array {
  return new Writer().frame(Kind.HELLO);
}

/** A refusal with its reason (cut to 200 characters): the helper goes direct. */
export function encodeRefused(reason: string): Uint8Array {
  return new Writer().text(reason.slice(0, 200)).frame(Kind.REFUSED);
}

/** `--check`'s and `--verify`'s question after the greeting: which code do you run? */
export function encodeAsk(): Uint8Array {
  return new Writer().frame(Kind.ASK);
}

/**
 * The broker's answer to `ASK`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const status = { version: "0.1.0", startedMs: 1_796_700_246_638, code: "ab".repeat(32), problem: "" };
 * assert.deepEqual(decodeFrame(encodeStatus(status).subarray(4)), { kind: "status", status });
 * ```
 */
export function encodeStatus(status: BrokerStatus): Uint8Array {
  return new Writer().text(status.version.slice(0, 64)).num(status.startedMs).text(status.code.slice(0, 128))
    .text(status.problem.slice(0, 512)).frame(Kind.STATUS);
}

/** The broker's decision for one request. */
export function encodeReply(reply: BrokerReply): Uint8Array {
  return new Writer().u8(reply.exit).text(reply.outcome).text(reply.msg.slice(0, 512))
    .u8(SOURCES.indexOf(reply.source)).u8(OUTAGES.indexOf(reply.outage)).text(reply.since ?? "")
    .u8(ATTEMPTS.indexOf(reply.attempt)).frame(Kind.REPLY);
}

/**
 * The request as one frame; the caller zeroes it once written (it holds the password).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const request: BrokerRequest = {
 *   type: "auth",
 *   remainingMs: 4000,
 *   user: "alice",
 *   service: "sshd",
 *   rhost: "203.0.113.7",
 *   ruser: "",
 *   tty: "ssh",
 *   line: {
 *     configPath: "/etc/netauth/config.toml",
 *     timeoutMs: 10_000,
 *     requireGroups: ["staff"],
 *     cacheDir: "",
 *     cacheMaxAgeMs: 0,
 *     cacheTries: 0,
 *     outageWindowMs: 30_000,
 *     runtimeDir: "",
 *   },
 *   secret: new TextEncoder().encode("hunter2"),
 * };
 * const frame = encodeRequest(request);
 * assert.equal(new DataView(frame.buffer).getUint32(0), frame.length - 4); // the length prefix
 * assert.deepEqual(decodeFrame(frame.subarray(4)), { kind: "request", request });
 * frame.fill(0); // the password's bytes are gone
 * ```
 */
export function encodeRequest(request: BrokerRequest): Uint8Array {
  const { line } = request;
  if (line.requireGroups.length > MAX_GROUPS) {
    throw new ProtocolError(`${line.requireGroups.length} groups, over the limit of ${MAX_GROUPS}`);
  }
  const w = new Writer().u8(TYPES.indexOf(request.type) + 1).u32(Math.max(0, Math.round(request.remainingMs)));
  for (const field of [request.user, request.service, request.rhost, request.ruser, request.tty]) w.text(field);
  w.text(line.configPath).num(line.timeoutMs).u8(line.requireGroups.length);
  for (const group of line.requireGroups) w.text(group);
  w.text(line.cacheDir).num(line.cacheMaxAgeMs).num(line.cacheTries).num(line.outageWindowMs).text(line.runtimeDir);
  return w.bytes(request.secret).frame(Kind.REQUEST);
}

/** Reads a frame body field by field; every read is bounds-checked. */
class Reader {
  private at = 0;
  constructor(private readonly body: Uint8Array) {}
  u8(): number {
    if (this.at >= this.body.length) throw new ProtocolError("frame truncated");
    return this.body[this.at++];
  }
  u32(): number {
    if (this.at + 4 > this.body.length) throw new ProtocolError("frame truncated");
    const value = new DataView(this.body.buffer, this.body.byteOffset + this.at, 4).getUint32(0);
    this.at += 4;
    return value;
  }
  bytes(): Uint8Array {
    const length = (this.u8() << 8) | this.u8();
    if (length > MAX_FIELD_BYTES) throw new ProtocolError(`field of ${length} bytes, over the limit`);
    if (this.at + length > this.body.length) throw new ProtocolError("frame truncated");
    const value = this.body.subarray(this.at, this.at + length);
    this.at += length;
    return value;
  }
  num(): number {
    if (this.at + 8 > this.body.length) throw new ProtocolError("frame truncated");
    const value = new DataView(this.body.buffer, this.body.byteOffset + this.at, 8).getFloat64(0);
    this.at += 8;
    if (!Number.isSafeInteger(value) || value < 0) throw new ProtocolError("a number field is not a whole number");
    return value;
  }
  text(): string {
    try {
      return decoder.decode(this.bytes());
    } catch (err) {
      if (err instanceof ProtocolError) throw err;
      throw new ProtocolError("field is not UTF-8");
    }
  }
  end(): void {
    if (this.at !== this.body.length) throw new ProtocolError(`${this.body.length - this.at} bytes after the frame`);
  }
}

/**
 * One frame's body (what follows the length prefix). The request's secret is a view into `body`:
 * zeroing `body` zeroes it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const reply = { exit: 0, outcome: "authenticated", msg: "authenticated", source: "netauth" as const };
 * const body = encodeReply(reply).subarray(4);
 * assert.deepEqual(decodeFrame(body), { kind: "reply", reply });
 * assert.throws(() => decodeFrame(body.subarray(0, 5)), ProtocolError); // truncated
 * assert.throws(() => decodeFrame(Uint8Array.of(9, Kind.HELLO)), /protocol version 9, expected 2/);
 * ```
 */
export function decodeFrame(body: Uint8Array): Frame {
  const r = new Reader(body);
  const version = r.u8();
  if (version !== PROTOCOL_VERSION) {
    throw new ProtocolError(`protocol version ${version}, expected ${PROTOCOL_VERSION}`);
  }
  const kind = r.u8();
  let frame: Frame;
  switch (kind) {
    case Kind.HELLO:
      frame = { kind: "hello" };
      break;
    case Kind.REFUSED:
      frame = { kind: "refused", reason: r.text() };
      break;
    case Kind.ASK:
      frame = { kind: "ask" };
      break;
    case Kind.STATUS: {
      const [version, startedMs, code, problem] = [r.text(), r.num(), r.text(), r.text()];
      if (code && !/^[0-9a-f]{64}$/.test(code)) throw new ProtocolError("status code digest is not a SHA-256");
      frame = { kind: "status", status: { version, startedMs, code, problem } };
      break;
    }
    case Kind.REPLY: {
      const exit = r.u8();
      const outcome = r.text();
      const msg = r.text();
      const source = SOURCES[r.u8()];
      const [outage, since, attempt] = [OUTAGES[r.u8()], r.text(), ATTEMPTS[r.u8()]];
      if (!/^[a-z_]{1,40}$/.test(outcome)) throw new ProtocolError("reply outcome is not a word");
      if (since && !ISO_TIME.test(since)) throw new ProtocolError("reply outage time is not a time");
      frame = {
        kind: "reply",
        reply: {
          exit,
          outcome,
          msg,
          ...(source ? { source } : {}),
          ...(outage ? { outage } : {}),
          ...(since ? { since } : {}),
          ...(attempt ? { attempt } : {}),
        },
      };
      break;
    }
    case Kind.REQUEST: {
      const type = TYPES[r.u8() - 1];
      if (!type) throw new ProtocolError("unknown request type");
      const remainingMs = r.u32();
      const [user, service, rhost, ruser, tty] = [r.text(), r.text(), r.text(), r.text(), r.text()];
      const [configPath, timeoutMs, count] = [r.text(), r.num(), r.u8()];
      if (count > MAX_GROUPS) throw new ProtocolError(`${count} groups, over the limit of ${MAX_GROUPS}`);
      const requireGroups = Array.from({ length: count }, () => r.text());
      const [cacheDir, cacheMaxAgeMs, cacheTries, outageWindowMs, runtimeDir] = [
        r.text(),
        r.num(),
        r.num(),
        r.num(),
        r.text(),
      ];
      const line = {
        configPath,
        timeoutMs,
        requireGroups,
        cacheDir,
        cacheMaxAgeMs,
        cacheTries,
        outageWindowMs,
        runtimeDir,
      };
      const secret = r.bytes();
      frame = { kind: "request", request: { type, remainingMs, user, service, rhost, ruser, tty, line, secret } };
      break;
    }
    default:
      throw new ProtocolError(`unknown frame kind ${kind}`);
  }
  r.end();
  return frame;
}

/** Reads some bytes into `into`, like Deno.Conn's read: how many, or null at end of input. */
export type ReadSome = (into: Uint8Array) => Promise<number | null>;

/**
 * Reads one length-prefixed frame and gives back its body, or null at a clean end of input (no
 * byte read). A length of 0 or over `MAX_FRAME_BYTES`, or input ending inside a frame, is refused
 * before any body byte is buffered.
 */
export async function readFrame(read: ReadSome): Promise<Uint8Array | null> {
  const header = new Uint8Array(4);
  const got = await readFull(read, header);
  if (got === 0) return null;
  if (got < 4) throw new ProtocolError("connection closed inside a frame");
  const length = new DataView(header.buffer).getUint32(0);
  if (length < 2 || length > MAX_FRAME_BYTES) {
    throw new ProtocolError(`frame length ${length}, expected 2 to ${MAX_FRAME_BYTES}`);
  }
  const body = new Uint8Array(length);
  if ((await readFull(read, body)) < length) {
    body.fill(0);
    throw new ProtocolError("connection closed inside a frame");
  }
  return body;
}

/** Writes all of `bytes` through `write` (like Deno.Conn's write, which may take only part). */
export async function writeAll(write: (bytes: Uint8Array) => Promise<number>, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) at += await write(bytes.subarray(at));
}

async function readFull(read: ReadSome, into: Uint8Array): Promise<number> {
  let at = 0;
  while (at < into.length) {
    const n = await read(into.subarray(at));
    if (n === null) break;
    at += n;
  }
  return at;
}
