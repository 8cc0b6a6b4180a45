/**
 * Protocol-buffers wire format, the little of it NetAuth's messages need: varints, bools and
 * length-delimited fields (strings, bytes, sub-messages). messages.ts builds the messages on it.
 * Hand-written so that no schema compiler loads at run time (docs/performance.md).
 *
 * @module
 */

const LEN = 2; // wire type of strings, bytes and sub-messages
const utf8 = new TextEncoder();
// Lenient like protobufjs: a server's invalid UTF-8 becomes U+FFFD instead of failing the call.
const text = new TextDecoder();

/** Appends fields to a growing buffer; `finish()` gives the encoded message. */
export class Writer {
  private buf = new Uint8Array(64);
  private len = 0;

  /** Room for `n` more bytes; the old buffer is zeroed. */
  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    next.set(this.buf.subarray(0, this.len));
    this.buf.fill(0); // may hold a secret
    this.buf = next;
  }

  /** A base-128 varint. */
  private varint(value: number): void {
    this.reserve(10);
    while (value > 0x7f) {
      this.buf[this.len++] = (value % 0x80) | 0x80;
      value = Math.floor(value / 0x80);
    }
    this.buf[this.len++] = value;
  }

  /** A length-delimited field: bytes, a UTF-8 string, or an encoded sub-message. */
  bytes(field: number, value: Uint8Array): this {
    this.varint(field * 8 + LEN);
    this.varint(value.length);
    this.reserve(value.length);
    this.buf.set(value, this.len);
    this.len += value.length;
    return this;
  }

  /** A string field as UTF-8; nothing when undefined. */
  string(field: number, value: string | undefined): this {
    return value === undefined ? this : this.bytes(field, utf8.encode(value));
  }

  /** proto2 optional bool: written only when set, so `false` and absent stay distinct. */
  bool(field: number, value: boolean | undefined): this {
    if (value === undefined) return this;
    this.varint(field * 8);
    this.varint(value ? 1 : 0);
    return this;
  }

  /** An encoded sub-message; nothing when undefined. */
  message(field: number, encoded: Uint8Array | undefined): this {
    return encoded === undefined ? this : this.bytes(field, encoded);
  }

  /** A copy of the message so far. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }

  /** Zeroes the working buffer (finish() returned a copy). */
  wipe(): void {
    this.buf.fill(0);
  }
}

/** One field as read: its number and, by wire type, a varint or the bytes it delimits. */
export type Field = { no: number; varint: number; bytes?: undefined } | { no: number; bytes: Uint8Array };

/** The fields of one encoded message, in order; unknown ones are skipped by wire type, never trusted. */
export function* fields(buf: Uint8Array): Generator<Field> {
  let pos = 0;
  const varint = (): number => {
    let value = 0, scale = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= buf.length) throw new Error("truncated varint");
      const b = buf[pos++];
      value += (b & 0x7f) * scale; // beyond 2^53 only precision is lost; we read no such value
      scale *= 0x80;
      if (b < 0x80) return value;
    }
    throw new Error("varint longer than 10 bytes");
  };
  const take = (n: number): Uint8Array => {
    if (n > buf.length - pos) throw new Error("field runs past the end of the message");
    return buf.subarray(pos, pos += n);
  };
  while (pos < buf.length) {
    const key = varint();
    const no = Math.floor(key / 8), type = key % 8;
    if (no === 0) throw new Error("field number 0");
    if (type === 0) yield { no, varint: varint() };
    else if (type === LEN) yield { no, bytes: take(varint()) };
    else if (type === 1) take(8);
    else if (type === 5) take(4);
    else throw new Error(`unsupported wire type ${type}`);
  }
}

/** A length-delimited field as UTF-8 text (malformed sequences become U+FFFD). */
export const readString = (f: Field): string => text.decode(bytesOf(f));

/** A length-delimited field's bytes; throws for a varint. */
export function bytesOf(f: Field): Uint8Array {
  if (f.bytes === undefined) throw new Error(`field ${f.no}: expected a length-delimited value`);
  return f.bytes;
}

/** A varint field as a bool (any non-zero is true); throws for a length-delimited one. */
export function boolOf(f: Field): boolean {
  if (f.bytes !== undefined) throw new Error(`field ${f.no}: expected a varint`);
  return f.varint !== 0;
}
