/**
 * Which failures are NetAuth being down and which are the server's own doing. Only a transport
 * failure may let the offline cache answer (README, "Offline cache"); anything the server sent
 * that does not parse or does not fit is a bad reply, and a status it sent is its answer.
 *
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import { NetAuthError } from "./client.ts";
import type { ConnectionTrace } from "./connection_trace.ts";
import { describeFailure, describeSilence, type FailureContext, isTlsRejection } from "./failure_text.ts";

// Trailers whose grpc-status the server sent as a decimal code, and those it sent as anything else.
const sentByServer = new WeakSet<object>();
const malformedStatus = new WeakMap<object, string>();
let guarded = false;

/**
 * grpc-js reads grpc-status with `Number()`, so `""` or `" 0"` would be OK. Every header block
 * passes `Metadata.fromHttp2Headers`: there a status that is not decimal digits becomes UNKNOWN,
 * and each block holding a status is remembered, so a failure can tell the server's status from
 * one grpc-js made up.
 */
export function guardStatus(): void {
  if (guarded) return;
  guarded = true;
  const parse = grpc.Metadata.fromHttp2Headers.bind(grpc.Metadata);
  grpc.Metadata.fromHttp2Headers = (headers) => {
    const raw = headers["grpc-status"];
    if (raw === undefined) return parse(headers);
    const text = Array.isArray(raw) ? raw.join(", ") : String(raw);
    if (/^\d{1,9}$/.test(text)) {
      const metadata = parse(headers);
      sentByServer.add(metadata);
      return metadata;
    }
    const metadata = parse({ ...headers, "grpc-status": String(grpc.status.UNKNOWN) });
    malformedStatus.set(metadata, text);
    return metadata;
  };
}

/** The server's own status: its verdicts, and a refusal for anything else (INTERNAL included). */
const KIND_BY_SERVER_STATUS: Partial<Record<grpc.status, "unauthenticated" | "not_found">> = {
  [grpc.status.UNAUTHENTICATED]: "unauthenticated",
  [grpc.status.NOT_FOUND]: "not_found",
};

/** What a failed grpc-js call reports (the part of its `ServiceError` read here). */
export interface CallFailure {
  /** The gRPC status code; missing when a filter rejected a message without one. */
  code?: number;
  /** The status details: the server's message, or grpc-js's own. */
  details?: string;
  /** The trailers the status came in, or grpc-js's own empty metadata. */
  metadata: object;
}

/** A failed call as the policy sees it (exported for tests/netauth/reply_checks_test.ts). */
export function toNetAuthError(
  err: CallFailure,
  method: string,
  where: FailureContext,
  trace: ConnectionTrace & { seconds: number },
): NetAuthError {
  const bad = (why: string) => new NetAuthError("bad_reply", why);
  const details = String(err.details ?? "");
  // A filter's rejection without a status: compression-filter.ts for a compressed frame the
  // agreed encoding (identity, unless the reply names gzip or deflate) cannot read.
  if (typeof err.code !== "number") return bad(`${method} sent a compressed message without an agreed grpc-encoding`);
  const status = malformedStatus.get(err.metadata);
  if (status !== undefined) return bad(`grpc-status ${JSON.stringify(status)} is not a status code`);
  if (sentByServer.has(err.metadata)) {
    const kind = KIND_BY_SERVER_STATUS[err.code as grpc.status] ?? "refused";
    return new NetAuthError(
      kind,
      describeFailure(grpc.status[err.code] ?? String(err.code), firstLine(details), where),
    );
  }
  // From here on grpc-js made the status up: from the transport, a limit, or what it could not read.
  const size =
    /^Received message (?:larger than max \((\d+) vs\.? (\d+)\)|that decompresses to a size larger than (\d+))/
      .exec(details);
  if (err.code === grpc.status.RESOURCE_EXHAUSTED && size) {
    return new NetAuthError(
      "oversized",
      size[3]
        ? `${method} sent a compressed message that inflates past the limit of ${size[3]} bytes`
        : `${method} sent ${size[1]} bytes, over the limit of ${size[2]}`,
    );
  }
  const http = /^Received HTTP status code (\d+)/.exec(details);
  if (http) return bad(http[1] === "200" ? "no grpc-status in the reply" : `HTTP status ${http[1]}, not a gRPC reply`);
  const parse = /^Response message parsing error: (.*)/.exec(details);
  if (parse) return bad(`${method} reply does not parse (${parse[1]})`);
  if (err.code === grpc.status.DEADLINE_EXCEEDED) {
    const text = describeSilence({ ...trace, method, address: where.address });
    return new NetAuthError("unavailable", text, { phase: trace.phase, unanswered: true, tlsRejected: false });
  }
  if (err.code === grpc.status.UNAVAILABLE) {
    const text = describeFailure("UNAVAILABLE", firstLine(details), where, trace);
    const tlsRejected = isTlsRejection(firstLine(details), where);
    return new NetAuthError("unavailable", text, { phase: trace.phase, unanswered: false, tlsRejected });
  }
  // Deno ends a call this way when, for one, the status message is over its header limit.
  if (err.code === grpc.status.CANCELLED) return bad(`${method} reply was cut off before its status (${details})`);
  return bad(`${grpc.status[err.code] ?? err.code}: ${firstLine(details)}`);
}

const firstLine = (details: string) => details.split("\n")[0].replace(/ \(\d{4}-\d\d-\d\dT[^)]*\)/g, "");
