/**
 * docs/performance.md: Deno's TLS library (aws-lc under rustls) seeds its random generator once per
 * process from CPU-jitter entropy, ~27 ms of CPU before the first ClientHello. A throwaway ECDSA key
 * makes Deno pay that seeding on its blocking thread pool, overlapping the load of the gRPC modules.
 *
 * @module
 */

/** Starts the TLS library's one-time seeding off the main thread; never waits, never fails. */
export function warmUpTls(): void {
  crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]).catch(() => {});
}
