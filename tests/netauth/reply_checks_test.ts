import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { type NetAuthClient, NetAuthError } from "../../src/netauth/client.ts";
import { guardStatus, toNetAuthError } from "../../src/netauth/reply_checks.ts";
import type { PamRequest } from "../../src/pam_request.ts";
import { decide } from "../../src/policy.ts";

const where = { certificate: "/etc/netauth/keys/tls.pem", server: "netauth.test", address: "netauth.test:1729" };
const inCall = { phase: "rpc" as const, peer: "192.0.2.1:1729", seconds: 9.93 };
guardStatus();

/** A failed unary call as grpc-js hands it to the callback; `trailers` when the server sent the status. */
function serviceError(code: grpc.status, details: string, trailers?: Record<string, string>): grpc.ServiceError {
  return Object.assign(new Error(`${code} ${grpc.status[code]}: ${details}`), {
    code,
    details,
    metadata: trailers ? grpc.Metadata.fromHttp2Headers(trailers) : new grpc.Metadata(),
  });
}
const fromServer = (code: grpc.status, details: string) =>
  serviceError(code, details, { "grpc-status": String(code), "grpc-message": details });

/** Every call fails with `err`, as the gRPC client's calls reject. */
function failingClient(err: NetAuthError): NetAuthClient {
  const fail = () => Promise.reject(err);
  return {
    authEntity: fail,
    entityInfo: fail,
    entityGroups: fail,
    groupExists: fail,
    ping: fail,
    status: fail,
    close() {},
  };
}

const auth: PamRequest = { type: "auth", entity: "alice", service: "sshd" };
const account: PamRequest = { type: "account", entity: "alice", service: "sshd" };
const oversized = "Received message larger than max (600000 vs. 524288)";

// [the error, kind, exit for auth, exit for account]
const cases: [grpc.ServiceError, string, number, number][] = [
  [fromServer(grpc.status.UNAUTHENTICATED, "Authentication failed"), "unauthenticated", 7, 7],
  [fromServer(grpc.status.NOT_FOUND, "entity not found"), "not_found", 7, 10],
  // grpc-js's own: the transport.
  [serviceError(grpc.status.UNAVAILABLE, "connect ECONNREFUSED 127.0.0.1:1729"), "unavailable", 9, 9],
  [serviceError(grpc.status.UNAVAILABLE, "Connection dropped"), "unavailable", 9, 9],
  [serviceError(grpc.status.DEADLINE_EXCEEDED, "Deadline exceeded"), "unavailable", 9, 9],
  [serviceError(grpc.status.RESOURCE_EXHAUSTED, oversized), "oversized", 9, 9],
  // grpc-js's own: what it could not read.
  [serviceError(grpc.status.INTERNAL, "Response message parsing error: truncated varint"), "bad_reply", 4, 4],
  [serviceError(grpc.status.UNAVAILABLE, "Received HTTP status code 503"), "bad_reply", 4, 4],
  // A proxy's HTTP 401 is no verdict: it must neither deny (7) nor remove a cache entry.
  [serviceError(grpc.status.UNAUTHENTICATED, "Received HTTP status code 401"), "bad_reply", 4, 4],
  [serviceError(grpc.status.UNKNOWN, "Received HTTP status code 200"), "bad_reply", 4, 4],
  [serviceError(grpc.status.CANCELLED, "Call cancelled"), "bad_reply", 4, 4],
  [serviceError(grpc.status.INTERNAL, "Received RST_STREAM with code 2"), "bad_reply", 4, 4],
  // The server's own: an answer, never an outage, whatever it says.
  [fromServer(grpc.status.INTERNAL, "database on fire"), "refused", 4, 4],
  [fromServer(grpc.status.UNAVAILABLE, "Connection dropped"), "refused", 4, 4],
  [fromServer(grpc.status.DEADLINE_EXCEEDED, "Deadline exceeded"), "refused", 4, 4],
  [fromServer(grpc.status.RESOURCE_EXHAUSTED, oversized), "refused", 4, 4],
  [fromServer(grpc.status.PERMISSION_DENIED, "requires capability"), "refused", 4, 4],
  [fromServer(grpc.status.UNIMPLEMENTED, "unknown method"), "refused", 4, 4],
];

for (const [err, kind, authExit, accountExit] of cases) {
  const origin = err.metadata.getMap()["grpc-message"] === undefined ? "grpc-js" : "server";
  Deno.test(`${origin} ${grpc.status[err.code]} (${err.details}) -> ${kind}: auth ${authExit}, account ${accountExit}`, async () => {
    const failure = toNetAuthError(err, "AuthEntity", where, inCall);
    assert.equal(failure.kind, kind);
    const none = { requireGroups: [] };
    assert.equal((await decide(auth, new TextEncoder().encode("pw"), failingClient(failure), none)).exit, authExit);
    assert.equal((await decide(account, undefined, failingClient(failure), none)).exit, accountExit);
  });
}

Deno.test("a grpc-status that is not decimal digits is never OK, however Number() reads it", () => {
  for (const raw of ["", " 0", "0x0", "+0", "0.0", "1e1", "OK"]) {
    const metadata = grpc.Metadata.fromHttp2Headers({ "grpc-status": raw });
    assert.deepEqual(metadata.get("grpc-status"), [String(grpc.status.UNKNOWN)], JSON.stringify(raw));
    const err = Object.assign(new Error("2 UNKNOWN"), { code: grpc.status.UNKNOWN, details: "", metadata });
    const failure = toNetAuthError(err, "AuthEntity", where, inCall);
    assert.deepEqual([failure.kind, failure.message], [
      "bad_reply",
      `grpc-status ${JSON.stringify(raw)} is not a status code`,
    ]);
  }
  assert.deepEqual(grpc.Metadata.fromHttp2Headers({ "grpc-status": "0" }).get("grpc-status"), ["0"]);
});

Deno.test("the error's text names the status and the cause, the sizes, or the phase and address", () => {
  const refused = toNetAuthError(fromServer(grpc.status.PERMISSION_DENIED, "requires capability"), "X", where, inCall);
  assert.equal(refused.message, "PERMISSION_DENIED: requires capability");
  const big = toNetAuthError(serviceError(grpc.status.RESOURCE_EXHAUSTED, oversized), "EntityGroups", where, inCall);
  assert.equal(big.message, "EntityGroups sent 600000 bytes, over the limit of 524288");
  const inflated = "Received message that decompresses to a size larger than 524288";
  const bomb = toNetAuthError(serviceError(grpc.status.RESOURCE_EXHAUSTED, inflated), "AuthEntity", where, inCall);
  assert.equal(bomb.message, "AuthEntity sent a compressed message that inflates past the limit of 524288 bytes");
  const bare = Object.assign(new Error("undefined undefined: undefined"), { metadata: new grpc.Metadata() });
  const compressed = toNetAuthError(bare as unknown as grpc.ServiceError, "AuthEntity", where, inCall);
  assert.deepEqual(
    [compressed.kind, compressed.message],
    ["bad_reply", "AuthEntity sent a compressed message without an agreed grpc-encoding"],
  );
  const late = toNetAuthError(
    serviceError(grpc.status.DEADLINE_EXCEEDED, "Deadline exceeded after 9.928s"),
    "AuthEntity",
    where,
    inCall,
  );
  assert.equal(late.message, "connected to 192.0.2.1:1729, AuthEntity unanswered after 9.9 s");
  assert.deepEqual(late.transport, { phase: "rpc", unanswered: true, tlsRejected: false });
  const refusedTcp = serviceError(
    grpc.status.UNAVAILABLE,
    "No connection established. Last error: Error: connect ECONNREFUSED 192.0.2.1:1729. Resolution note: ",
  );
  const noTcp = toNetAuthError(refusedTcp, "AuthEntity", where, { phase: "connect", seconds: 0.1 });
  assert.equal(noTcp.message, "no TCP connection to netauth.test:1729: connect ECONNREFUSED 192.0.2.1:1729");
  assert.deepEqual(noTcp.transport, { phase: "connect", unanswered: false, tlsRejected: false });
  const stranger = serviceError(
    grpc.status.UNAVAILABLE,
    "No connection established. Last error: Error: self-signed certificate. Resolution note: ",
  );
  const rejected = toNetAuthError(stranger, "AuthEntity", where, {
    phase: "tls",
    peer: "192.0.2.1:1729",
    seconds: 0.1,
  });
  assert.deepEqual(rejected.transport, { phase: "tls", unanswered: false, tlsRejected: true });
});
