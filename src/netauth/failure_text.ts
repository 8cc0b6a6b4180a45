/**
 * grpc-js's failure details in the admin's words. A connection failure arrives framed as
 * "No connection established. Last error: Error: <cause>. Resolution note: <note>" (the note is
 * empty with this helper's resolver), and Deno's TLS stack words its causes as OpenSSL does.
 * Pure, so every wording is unit-tested without a server (tests/netauth/failure_text_test.ts).
 *
 * @module
 */
import type { Phase } from "./client.ts";

/** The config facts a failure's sentence may name. */
export interface FailureContext {
  /** `tls.certificate`, resolved. */
  certificate: string;
  /** `core.server`, as the certificate must name it. */
  server: string;
  /** `NAME:PORT`, as the sandbox grants it. */
  address: string;
}

/** How far a failed connection got: the phase, and the address TCP reached. */
export interface Reached {
  /** The phase the failure happened in. */
  phase: Phase;
  /** The address TCP reached, once it did. */
  peer?: string;
}

/**
 * A sentence naming the config key to look at for a TLS failure; with `reached`, the phase and
 * address of a transport failure; `STATUS: cause` otherwise.
 */
export function describeFailure(status: string, details: string, where: FailureContext, reached?: Reached): string {
  const cause = causeOf(details);
  const tls = tlsFailure(cause, where);
  if (tls || !reached) return tls ?? `${status}: ${cause}`;
  const peer = reached.peer ?? where.address;
  if (reached.phase === "connect") return `no TCP connection to ${where.address}: ${cause}`;
  if (reached.phase === "tls") return `connected to ${peer}, TLS handshake failed: ${cause}`;
  return `connected to ${peer}, connection lost before a reply: ${cause}`;
}

/** A deadline that passed, as the admin asks about it: did TCP connect, did TLS finish, did the call go unanswered? */
export function describeSilence(s: Reached & { seconds: number; method: string; address: string }): string {
  const after = `after ${s.seconds.toFixed(1)} s`;
  if (s.phase === "connect" || !s.peer) return `no TCP connection to ${s.address} ${after}`;
  if (s.phase === "tls") return `connected to ${s.peer}, TLS handshake unanswered ${after}`;
  return `connected to ${s.peer}, ${s.method} unanswered ${after}`;
}

/** Whether a connection failure is TLS refusing the server (a misconfiguration, not an outage). */
export function isTlsRejection(details: string, where: FailureContext): boolean {
  return tlsFailure(causeOf(details), where) !== undefined;
}

const causeOf = (details: string) =>
  details
    .replace(/^No connection established\. Last error: /, "")
    .replace(/\. Resolution note: (.*)$/s, (_, note: string) => note.trim() ? ` (${note.trim()})` : "")
    .replace(/^Error(?: \[[A-Z0-9_]+\])?: /, "");

function tlsFailure(cause: string, where: FailureContext): string | undefined {
  const notSigned = `TLS: the server's certificate is not signed by the CA in tls.certificate (${where.certificate})`;
  // DEPTH_ZERO_SELF_SIGNED_CERT, SELF_SIGNED_CERT_IN_CHAIN, UNABLE_TO_GET_ISSUER_CERT(_LOCALLY).
  if (/^self-signed certificate|^unable to get (local )?issuer certificate/.test(cause)) return notSigned;
  // UNABLE_TO_VERIFY_LEAF_SIGNATURE: Deno says this for a certificate from another CA and for an
  // expired one alike (measured with Deno 2.9), so the sentence names both.
  if (cause.startsWith("unable to verify the first certificate")) return `${notSigned}, or has expired`;
  if (cause.startsWith("Hostname/IP does not match certificate's altnames")) {
    return `TLS: the server's certificate is not valid for ${where.server} (core.server)`;
  }
  if (/wrong version number|InvalidContentType/.test(cause)) {
    return `TLS: ${where.address} did not answer in TLS (a plaintext server?)`;
  }
  return undefined;
}
