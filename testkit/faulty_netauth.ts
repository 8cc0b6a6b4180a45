// A NetAuth that is TLS-verified but broken or hostile, for the replies grpc-js's own server
// cannot send: an empty grpc-status, HTTP errors, a compressed frame without an encoding, a
// gzip bomb, a status message larger than any header limit, a GOAWAY with many calls open; and,
// for contrast, a connection dropped mid-call, which is an outage. It speaks HTTP/2 itself, frame
// by frame, behind the same TLS front as the scripted server (fake_netauth.ts).
import { gzipSync } from "node:zlib";
import { Front } from "./fake_netauth.ts";

/** What the server answers to every call until the test sets another fault. */
export type Fault =
  | "malformed_protobuf"
  | "huge_status_message"
  | "http_503"
  | "empty_status"
  | "no_status"
  | "bare_compressed"
  | "gzip_bomb"
  | "other_entity"
  | "garbled_id"
  | "nameless_group"
  | "drop"
  | "drop_after_headers"
  | "goaway_once";

export interface FaultyNetAuth {
  port: number;
  fault: Fault;
  /** Calls answered (the path is not decoded: the test knows which call it makes). */
  calls: number;
  /**
   * With `goaway_once`: the first connection holds its calls until this many are open, then sends a GOAWAY naming
   * the first of them as the last it will process, answers that one (an empty reply) and closes (a server shutting
   * down, or enforcing a limit, mid-storm); later connections give every call an empty reply.
   */
  goawayAt: number;
  /** GOAWAY frames sent. */
  goaways: number;
  /** The most calls open at once on one connection. */
  maxOpen: number;
  stop(): void;
}

const PREFACE_LENGTH = 24;
const MAX_FRAME = 16384;
const enum Type {
  DATA = 0,
  HEADERS = 1,
  SETTINGS = 4,
  PING = 6,
  GOAWAY = 7,
  CONTINUATION = 9,
}
const END_STREAM = 1, END_HEADERS = 4, ACK = 1;
const utf8 = new TextEncoder();

function frame(type: Type, flags: number, stream: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(9 + payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, payload.length << 8 | type);
  out[4] = flags;
  view.setUint32(5, stream);
  out.set(payload, 9);
  return out;
}

// HPACK: every field a literal without indexing and without Huffman coding (RFC 7541, 6.2.2).
function hpackInt(value: number): number[] {
  if (value < 127) return [value];
  const out = [127];
  for (value -= 127; value >= 128; value >>= 7) out.push((value & 127) | 128);
  return [...out, value];
}
function headerBlock(fields: [string, string][]): Uint8Array {
  const bytes: number[] = [];
  for (const [name, value] of fields) {
    const n = utf8.encode(name), v = utf8.encode(value);
    bytes.push(0, ...hpackInt(n.length), ...n, ...hpackInt(v.length));
    for (const b of v) bytes.push(b);
  }
  return Uint8Array.from(bytes);
}

/** A header block as HEADERS and as many CONTINUATION frames as the 16 KiB frame size needs. */
function headers(stream: number, fields: [string, string][], endStream: boolean): Uint8Array[] {
  const block = headerBlock(fields);
  const frames: Uint8Array[] = [];
  for (let at = 0; at === 0 || at < block.length; at += MAX_FRAME) {
    const last = at + MAX_FRAME >= block.length;
    const flags = (last ? END_HEADERS : 0) | (at === 0 && endStream ? END_STREAM : 0);
    frames.push(frame(at === 0 ? Type.HEADERS : Type.CONTINUATION, flags, stream, block.subarray(at, at + MAX_FRAME)));
  }
  return frames;
}

/** One gRPC message: the compressed flag, the length, the bytes. */
function grpcMessage(bytes: Uint8Array, compressed = false): Uint8Array {
  const out = new Uint8Array(5 + bytes.length);
  out[0] = compressed ? 1 : 0;
  new DataView(out.buffer).setUint32(1, bytes.length);
  out.set(bytes, 5);
  return out;
}

function data(stream: number, body: Uint8Array): Uint8Array[] {
  const frames: Uint8Array[] = [];
  for (let at = 0; at < body.length; at += MAX_FRAME) {
    frames.push(frame(Type.DATA, 0, stream, body.subarray(at, at + MAX_FRAME)));
  }
  return frames;
}

const GRPC: [string, string][] = [[":status", "200"], ["content-type", "application/grpc"]];
const ok = (stream: number): Uint8Array[] => headers(stream, [["grpc-status", "0"]], true);
// ListOfEntities { Entities: [Entity { ID: id, meta: { Locked: false } }] }, hand-encoded.
const entityList = (id: Uint8Array) => Uint8Array.of(10, id.length + 4, 10, id.length, ...id, 34, 0);

function reply(fault: Fault, stream: number): Uint8Array[] {
  const start = headers(stream, GRPC, false);
  switch (fault) {
    case "malformed_protobuf": // a varint that never ends
      return [...start, ...data(stream, grpcMessage(Uint8Array.of(0xff, 0xff, 0xff))), ...ok(stream)];
    case "huge_status_message":
      return [...start, ...headers(stream, [["grpc-status", "16"], ["grpc-message", "x".repeat(100 * 1024)]], true)];
    case "http_503":
      return headers(stream, [[":status", "503"], ["content-type", "text/plain"]], true);
    case "empty_status": // an empty AuthEntity reply, then a status grpc-js reads as Number("") = 0
      return [
        ...start,
        ...data(stream, grpcMessage(new Uint8Array())),
        ...headers(stream, [["grpc-status", ""]], true),
      ];
    case "no_status":
      return [...start, ...data(stream, grpcMessage(new Uint8Array())), ...headers(stream, [["x-note", "none"]], true)];
    case "bare_compressed": // the compressed flag, and no grpc-encoding header
      return [...start, ...data(stream, grpcMessage(gzipSync(new Uint8Array()), true)), ...ok(stream)];
    case "gzip_bomb": { // 4 MiB of zeros in about 4 KiB: over the 512 KiB limit only once inflated
      const gzip = headers(stream, [...GRPC, ["grpc-encoding", "gzip"]], false);
      return [...gzip, ...data(stream, grpcMessage(gzipSync(new Uint8Array(4 << 20)), true)), ...ok(stream)];
    }
    case "other_entity":
      return [...start, ...data(stream, grpcMessage(entityList(utf8.encode("mallory")))), ...ok(stream)];
    case "garbled_id": // "al", a byte that is not UTF-8, "ce": decoded leniently it is "al\ufffdce"
      return [
        ...start,
        ...data(stream, grpcMessage(entityList(Uint8Array.of(0x61, 0x6c, 0xe9, 0x63, 0x65)))),
        ...ok(stream),
      ];
    case "nameless_group": // ListOfGroups { Groups: [Group {}] }
      return [...start, ...data(stream, grpcMessage(Uint8Array.of(10, 0))), ...ok(stream)];
    default: // drops are serve()'s
      return [];
  }
}

/** Reads HTTP/2 frames from one connection and answers each request when its body ends. */
async function serve(conn: Deno.Conn, server: FaultyNetAuth): Promise<void> {
  const writer = conn.writable.getWriter();
  const send = (frames: Uint8Array[]) => Promise.all(frames.map((f) => writer.write(f)));
  await send([frame(Type.SETTINGS, 0, 0, new Uint8Array())]);
  let buf = new Uint8Array(0);
  let prefaceSeen = false;
  const open = new Set<number>();
  const held: number[] = [];
  for await (const chunk of conn.readable) {
    const next = new Uint8Array(buf.length + chunk.length);
    next.set(buf);
    next.set(chunk, buf.length);
    buf = next;
    if (!prefaceSeen) {
      if (buf.length < PREFACE_LENGTH) continue;
      buf = buf.subarray(PREFACE_LENGTH);
      prefaceSeen = true;
    }
    while (buf.length >= 9) {
      const length = buf[0] << 16 | buf[1] << 8 | buf[2];
      if (buf.length < 9 + length) break;
      const [type, flags] = [buf[3], buf[4]];
      const stream = new DataView(buf.buffer, buf.byteOffset).getUint32(5) & 0x7fffffff;
      const payload = buf.subarray(9, 9 + length);
      buf = buf.subarray(9 + length);
      if (type === Type.SETTINGS && !(flags & ACK)) await send([frame(Type.SETTINGS, ACK, 0, new Uint8Array())]);
      if (type === Type.PING && !(flags & ACK)) await send([frame(Type.PING, ACK, 0, payload)]);
      if (type === Type.HEADERS) open.add(stream);
      server.maxOpen = Math.max(server.maxOpen, open.size + held.length);
      if ((type === Type.DATA || type === Type.HEADERS) && flags & END_STREAM && open.delete(stream)) {
        server.calls++;
        if (server.fault === "drop") return conn.close();
        if (server.fault === "drop_after_headers") {
          await send(headers(stream, GRPC, false));
          return conn.close();
        }
        if (server.fault === "goaway_once" && server.goaways > 0) {
          await send([...headers(stream, GRPC, false), ...data(stream, grpcMessage(new Uint8Array())), ...ok(stream)]);
          continue;
        }
        if (server.fault === "goaway_once") {
          held.push(stream);
          if (held.length < server.goawayAt) continue;
          return await goAway(conn, held, send, server);
        }
        await send(reply(server.fault, stream));
      }
    }
  }
}

/** GOAWAY (NO_ERROR) naming the first held stream as the last processed, that one answered, then the close. */
async function goAway(
  conn: Deno.Conn,
  held: number[],
  send: (frames: Uint8Array[]) => Promise<unknown>,
  server: FaultyNetAuth,
): Promise<void> {
  const last = Math.min(...held);
  const body = new Uint8Array(8);
  new DataView(body.buffer).setUint32(0, last);
  server.goaways++;
  await send([frame(Type.GOAWAY, 0, 0, body)]);
  await send([...headers(last, GRPC, false), ...data(last, grpcMessage(new Uint8Array())), ...ok(last)]);
  await new Promise((resolve) => setTimeout(resolve, 50));
  conn.close();
}

export function startFaultyNetAuth(tls: { cert: Uint8Array; key: Uint8Array }): FaultyNetAuth {
  const backend = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const front = new Front(backend.addr.port, tls);
  front.listen(0);
  const server: FaultyNetAuth = {
    port: front.port,
    fault: "malformed_protobuf",
    calls: 0,
    goawayAt: 100,
    goaways: 0,
    maxOpen: 0,
    stop() {
      front.close();
      backend.close();
      for (const conn of conns) {
        try {
          conn.close();
        } catch { /* already closed */ }
      }
    },
  };
  (async () => {
    for await (const conn of backend) {
      conns.add(conn);
      serve(conn, server).catch(() => {}).finally(() => conns.delete(conn));
    }
  })().catch(() => {});
  return server;
}
