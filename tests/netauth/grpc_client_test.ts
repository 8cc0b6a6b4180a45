import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { type NetAuthClient, NetAuthError } from "../../src/netauth/client.ts";
import { toNetAuthError } from "../../src/netauth/grpc_client.ts";
import type { PamRequest } from "../../src/pam_request.ts";
import { decide } from "../../src/policy.ts";

const where = { certificate: "/etc/netauth/keys/tls.pem", server: "netauth.test", address: "netauth.test:1729" };

/** A failed unary call as grpc-js hands it to the callback. */
function serviceError(code: grpc.status, details: string): grpc.ServiceError {
  return Object.assign(new Error(`${code} ${grpc.status[code]}: ${details}`), {
    code,
    details,
    metadata: new grpc.Metadata(),
  });
}

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

// [status, details, kind, exit for auth, exit for account]
const cases: [grpc.status, string, string, number, number][] = [
  [grpc.status.UNAUTHENTICATED, "Authentication failed", "unauthenticated", 7, 7],
  [grpc.status.NOT_FOUND, "entity not found", "not_found", 7, 10],
  [grpc.status.UNAVAILABLE, "connect ECONNREFUSED 127.0.0.1:1729", "unavailable", 9, 9],
  [grpc.status.DEADLINE_EXCEEDED, "Deadline exceeded", "unavailable", 9, 9],
  [grpc.status.INTERNAL, "stream reset", "unavailable", 9, 9],
  [grpc.status.CANCELLED, "Cancelled on client", "unavailable", 9, 9],
  [grpc.status.RESOURCE_EXHAUSTED, oversized, "oversized", 9, 9],
  // The server's own RESOURCE_EXHAUSTED is a refusal, not our size limit.
  [grpc.status.RESOURCE_EXHAUSTED, "too many requests", "refused", 4, 4],
  [grpc.status.PERMISSION_DENIED, "requires capability", "refused", 4, 4],
  [grpc.status.UNIMPLEMENTED, "unknown method", "refused", 4, 4],
];

for (const [code, details, kind, authExit, accountExit] of cases) {
  Deno.test(`gRPC ${grpc.status[code]} (${details}) -> ${kind}: auth exits ${authExit}, account ${accountExit}`, async () => {
    const err = toNetAuthError(serviceError(code, details), "AuthEntity", where);
    assert.equal(err.kind, kind);
    const none = { requireGroups: [] };
    assert.equal((await decide(auth, new TextEncoder().encode("pw"), failingClient(err), none)).exit, authExit);
    assert.equal((await decide(account, undefined, failingClient(err), none)).exit, accountExit);
  });
}

Deno.test("the error's text names the status and the cause, or the sizes for an oversized reply", () => {
  const refused = toNetAuthError(serviceError(grpc.status.PERMISSION_DENIED, "requires capability"), "X", where);
  assert.equal(refused.message, "PERMISSION_DENIED: requires capability");
  const big = toNetAuthError(serviceError(grpc.status.RESOURCE_EXHAUSTED, oversized), "EntityGroups", where);
  assert.equal(big.message, "EntityGroups sent 600000 bytes, over the limit of 524288");
});
