import assert from "node:assert/strict";
import { describeFailure, describeSilence } from "../../src/netauth/failure_text.ts";

const where = {
  certificate: "/etc/netauth/keys/tls.pem",
  server: "netauth.example.org",
  address: "netauth.example.org:1729",
};
/** How grpc-js 1.14 frames a connection failure, with the cause Deno 2.9's node:tls gives. */
const framed = (cause: string) => `No connection established. Last error: ${cause}. Resolution note: `;

Deno.test("TLS failures name the config key to look at; no empty resolution note", () => {
  const notSigned =
    "TLS: the server's certificate is not signed by the CA in tls.certificate (/etc/netauth/keys/tls.pem)";
  const cases: [string, string][] = [
    ["Error: self-signed certificate", notSigned],
    ["Error: self-signed certificate in certificate chain", notSigned],
    ["Error: unable to get local issuer certificate", notSigned],
    ["Error: unable to verify the first certificate", `${notSigned}, or has expired`],
    [
      "Error [ERR_TLS_CERT_ALTNAME_INVALID]: Hostname/IP does not match certificate's altnames: Host: netauth.example.org. is not in the cert's altnames: DNS:other.example",
      "TLS: the server's certificate is not valid for netauth.example.org (core.server)",
    ],
    [
      "Error: received corrupt message of type InvalidContentType (SSL routines:ssl3_get_record:wrong version number)",
      "TLS: netauth.example.org:1729 did not answer in TLS (a plaintext server?)",
    ],
    ["Error: connect ECONNREFUSED 127.0.0.1:1729", "UNAVAILABLE: connect ECONNREFUSED 127.0.0.1:1729"],
  ];
  for (const [cause, want] of cases) assert.equal(describeFailure("UNAVAILABLE", framed(cause), where), want);
});

Deno.test("other failures keep their status and details; a non-empty note is kept", () => {
  assert.equal(describeFailure("INTERNAL", "database on fire", where), "INTERNAL: database on fire");
  assert.equal(
    describeFailure(
      "UNAVAILABLE",
      "No connection established. Last error: Error: boom. Resolution note: no DNS",
      where,
    ),
    "UNAVAILABLE: boom (no DNS)",
  );
});

Deno.test("a deadline names how far the connection got and where, not grpc-js's timing detail", () => {
  const at = { seconds: 9.93, method: "AuthEntity", address: "netauth.example.org:1729" };
  assert.equal(
    describeSilence({ ...at, phase: "connect" }),
    "no TCP connection to netauth.example.org:1729 after 9.9 s",
  );
  assert.equal(
    describeSilence({ ...at, phase: "tls", peer: "127.0.0.1:1729" }),
    "connected to 127.0.0.1:1729, TLS handshake unanswered after 9.9 s",
  );
  assert.equal(
    describeSilence({ ...at, phase: "rpc", peer: "[::1]:1729" }),
    "connected to [::1]:1729, AuthEntity unanswered after 9.9 s",
  );
});

Deno.test("a transport error names its phase and address; a TLS verdict keeps its own sentence", () => {
  const tls = { phase: "tls" as const, peer: "127.0.0.1:1729" };
  assert.equal(
    describeFailure("UNAVAILABLE", framed("Error: Client network socket disconnected"), where, tls),
    "connected to 127.0.0.1:1729, TLS handshake failed: Client network socket disconnected",
  );
  assert.equal(
    describeFailure("UNAVAILABLE", framed("Error: self-signed certificate"), where, tls),
    "TLS: the server's certificate is not signed by the CA in tls.certificate (/etc/netauth/keys/tls.pem)",
  );
  assert.equal(
    describeFailure("UNAVAILABLE", "Connection dropped", where, { phase: "rpc", peer: "127.0.0.1:1729" }),
    "connected to 127.0.0.1:1729, connection lost before a reply: Connection dropped",
  );
});
