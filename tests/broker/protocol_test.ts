import assert from "node:assert/strict";
import {
  type BrokerRequest,
  decodeFrame,
  encodeAsk,
  encodeHello,
  encodeRefused,
  encodeReply,
  encodeRequest,
  encodeStatus,
  Kind,
  MAX_FRAME_BYTES,
  PROTOCOL_VERSION,
  ProtocolError,
  readFrame,
} from "../../src/broker/protocol.ts";

const request = (over: Partial<BrokerRequest> = {}): BrokerRequest => ({
  type: "auth",
  remainingMs: 9500,
  user: "alice",
  service: "sshd",
  rhost: "203.0.113.9",
  ruser: "",
  tty: "ssh",
  line: {
    configPath: "/etc/netauth/config.toml",
    timeoutMs: 2500,
    requireGroups: ["admins", "ops"],
    cacheDir: "/var/cache/netauth",
    cacheMaxAgeMs: 999_999 * 604_800_000, // --cache-max-age 999999w: past 32 bits
    cacheTries: 5,
    outageWindowMs: 30_000,
    runtimeDir: "",
  },
  secret: new TextEncoder().encode("pä55\u00ff"),
  ...over,
});

/** The body after the 4-byte length prefix. */
const body = (frame: Uint8Array) => frame.subarray(4);

/** A reader over fixed bytes, handing out at most `chunk` bytes per read. */
function readerOf(bytes: Uint8Array, chunk = 3) {
  let at = 0;
  return (into: Uint8Array) => {
    if (at >= bytes.length) return Promise.resolve(null);
    const n = Math.min(chunk, into.length, bytes.length - at);
    into.set(bytes.subarray(at, at + n));
    at += n;
    return Promise.resolve(n);
  };
}

Deno.test("a request survives encode and decode, secret bytes unchanged", () => {
  const frame = decodeFrame(body(encodeRequest(request())));
  assert.equal(frame.kind, "request");
  if (frame.kind !== "request") return;
  assert.deepEqual({ ...frame.request, secret: [...frame.request.secret] }, {
    ...request(),
    secret: [...request().secret],
  });
});

Deno.test("the decoded secret is a view of the frame: zeroing the frame zeroes it", () => {
  const bytes = body(encodeRequest(request()));
  const frame = decodeFrame(bytes);
  bytes.fill(0);
  assert.ok(frame.kind === "request" && frame.request.secret.every((b) => b === 0));
});

Deno.test("replies, refusals and hellos round-trip", () => {
  assert.deepEqual(decodeFrame(body(encodeHello())), { kind: "hello" });
  assert.deepEqual(decodeFrame(body(encodeRefused("busy"))), { kind: "refused", reason: "busy" });
  const reply = { exit: 7, outcome: "denied", msg: "wrong secret", source: "netauth" as const };
  assert.deepEqual(decodeFrame(body(encodeReply(reply))), { kind: "reply", reply });
  assert.deepEqual(decodeFrame(body(encodeReply({ exit: 0, outcome: "permitted", msg: "ok" }))), {
    kind: "reply",
    reply: { exit: 0, outcome: "permitted", msg: "ok" },
  });
});

Deno.test("bad frames are ProtocolErrors naming what was wrong", () => {
  const good = body(encodeRequest(request()));
  const cases: [string, Uint8Array, RegExp][] = [
    ["empty", new Uint8Array(), /truncated/],
    ["other version", Uint8Array.of(PROTOCOL_VERSION + 1, 1), /version 3, expected 2/],
    ["unknown kind", Uint8Array.of(PROTOCOL_VERSION, 99), /unknown frame kind 99/],
    ["truncated request", good.subarray(0, good.length - 1), /truncated/],
    ["trailing bytes", Uint8Array.of(...good, 0), /1 bytes after the frame/],
    ["unknown type", Uint8Array.of(PROTOCOL_VERSION, 2, 7, 0, 0, 0, 0), /unknown request type/],
    ["field over the limit", Uint8Array.of(PROTOCOL_VERSION, 4, 0xff, 0xff), /over the limit/],
    ["field not UTF-8", Uint8Array.of(PROTOCOL_VERSION, 4, 0, 2, 0xc3, 0x28), /not UTF-8/],
    ["reply outcome not a word", body(encodeReply({ exit: 0, outcome: "ok now", msg: "" })), /not a word/],
  ];
  for (const [name, bytes, message] of cases) {
    assert.throws(() => decodeFrame(bytes), (err) => err instanceof ProtocolError && message.test(err.message), name);
  }
});

Deno.test("a frame's length prefix is checked before its body is read", async () => {
  const huge = Uint8Array.of(0x7f, 0xff, 0xff, 0xff);
  await assert.rejects(readFrame(readerOf(huge)), /frame length 2147483647, expected 2 to 8192/);
  await assert.rejects(readFrame(readerOf(Uint8Array.of(0, 0, 0, 0))), /frame length 0/);
  await assert.rejects(readFrame(readerOf(Uint8Array.of(0, 0))), /closed inside a frame/);
  await assert.rejects(readFrame(readerOf(Uint8Array.of(0, 0, 0, 9, 1, 2))), /closed inside a frame/);
  assert.equal(await readFrame(readerOf(new Uint8Array())), null);
});

Deno.test("frames arriving in pieces are read whole, one after another", async () => {
  const both = Uint8Array.of(...encodeHello(), ...encodeRefused("shutting down"));
  const read = readerOf(both, 1);
  assert.deepEqual(decodeFrame((await readFrame(read))!), { kind: "hello" });
  assert.deepEqual(decodeFrame((await readFrame(read))!), { kind: "refused", reason: "shutting down" });
  assert.equal(await readFrame(read), null);
});

Deno.test("a request too large to encode is refused before anything is sent", () => {
  assert.throws(() => encodeRequest(request({ rhost: "h".repeat(2000) })), /over the limit of 1024/);
  const groups = Array.from({ length: 65 }, (_, i) => `g${i}`);
  assert.throws(() => encodeRequest(request({ line: { ...request().line, requireGroups: groups } })), /65 groups/);
  const wide = Array.from({ length: 64 }, () => "g".repeat(128));
  assert.throws(
    () => encodeRequest(request({ line: { ...request().line, requireGroups: wide } })),
    new RegExp(`over ${MAX_FRAME_BYTES}`),
  );
});

Deno.test("random bytes never escape as anything but a ProtocolError", () => {
  let seed = 20;
  const next = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff;
  const good = body(encodeRequest(request()));
  for (let i = 0; i < 2000; i++) {
    const bytes = i % 2 ? Uint8Array.from({ length: next() % 64 }, next) : good.map((b) => next() < 8 ? next() : b);
    bytes[0] = i % 3 ? PROTOCOL_VERSION : bytes[0];
    try {
      decodeFrame(bytes);
    } catch (err) {
      assert.ok(err instanceof ProtocolError, String(err));
    }
  }
});

Deno.test("ASK and STATUS: the broker's word about its code round-trips; a code that is not a SHA-256 is refused", () => {
  assert.deepEqual(decodeFrame(body(encodeAsk())), { kind: "ask" });
  assert.deepEqual([...body(encodeAsk())], [PROTOCOL_VERSION, Kind.ASK]);
  const status = { version: "0.1.0", startedMs: 1_800_000_000_123, code: "0f".repeat(32), problem: "" };
  assert.deepEqual(decodeFrame(body(encodeStatus(status))), { kind: "status", status });
  const unhashed = { ...status, code: "", problem: "not installed (no --runtime-dir)" };
  assert.deepEqual(decodeFrame(body(encodeStatus(unhashed))), { kind: "status", status: unhashed });
  assert.throws(() => decodeFrame(body(encodeStatus({ ...status, code: "not hex" }))), /not a SHA-256/);
  assert.throws(() => encodeStatus({ ...status, startedMs: 1.5 }), ProtocolError);
});
