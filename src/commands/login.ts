/**
 * The direct path's PAM call: the request from pam_exec's environment and the password from its stdin,
 * checked; the broker's fast path when one is configured; otherwise the login itself (src/login.ts).
 * Every local check runs before the NetAuth client is created (and its modules loaded).
 *
 * @module
 */
import type { LogFields, Logger } from "../log.ts";
import { type PamRequest, type ReadInto, readPamRequest, readSecret } from "../pam_request.ts";
import type { Forwarded } from "../broker/forward.ts";
import { type LoginResult, refusal } from "../login.ts";

/** What one PAM call needs from outside; tests pass fakes. */
export interface LoginDeps {
  /** Reads the PAM environment (PAM_TYPE, PAM_USER, ...). */
  getEnv: (name: string) => string | undefined;
  /** Where pam_exec's `expose_authtok` writes the password. */
  stdin: ReadableStream<Uint8Array> | ReadInto;
  /** Where the decision's log line goes; bound to the request's fields as they become known. */
  logger: Logger;
  /** The warm broker's fast path (src/broker/forward.ts), with --broker-socket: tried once local checks pass. */
  broker?: (request: PamRequest, secret: Uint8Array | undefined) => Promise<Forwarded>;
  /** The login itself: login.ts's decideLogin with this line's options and this process's parts. */
  login: (request: PamRequest, secret: Uint8Array | undefined) => Promise<LoginResult>;
}

/**
 * One PAM call, start to verdict: reads and checks the request and the password, tries the broker, then logs in
 * directly. A local failure (a HelperError) is a LoginResult with its exit code; anything else is a bug, rethrown
 * for the caller to end as an internal error (main.ts: exit 4).
 */
export async function handleLogin(deps: LoginDeps): Promise<LoginResult> {
  let secret: Uint8Array | undefined;
  try {
    // Bound before validation, so even a refused PAM_USER's line says where it came from.
    const raw = (name: string) => deps.getEnv(name) || undefined;
    deps.logger.bind({ service: raw("PAM_SERVICE"), rhost: raw("PAM_RHOST"), type: raw("PAM_TYPE") });
    const request = readPamRequest(deps.getEnv);
    const bindRequest = (path: LogFields = {}) =>
      deps.logger.bind({
        entity: request.entity,
        service: request.service,
        rhost: request.rhost,
        type: request.type,
        ...path,
      });
    bindRequest();
    deps.logger.log("TRACE", "request read", { ruser: request.ruser, tty: request.tty });
    secret = request.type === "auth" ? await readSecret(deps.stdin) : undefined;
    if (deps.broker) {
      const forwarded = await deps.broker(request, secret);
      if (forwarded.answered) {
        const { exit, outcome, msg, source, outage, since, attempt } = forwarded;
        bindRequest({ path: "broker" });
        return { exit, outcome, msg, fields: { outage, since, attempt, source } };
      }
      if (forwarded.untrusted) deps.logger.log("WARN", `broker socket ignored: ${forwarded.why}`);
      // No socket at all (a host where systemd does not run, or the broker is off) is no news on every line.
      if (forwarded.absent) deps.logger.log("DEBUG", `no broker: ${forwarded.why}`);
      // Bound, so every later line says so, the deadline's and an internal error's included.
      bindRequest(forwarded.absent ? { path: "direct" } : { path: "direct", broker: forwarded.why });
    }
    return await deps.login(request, secret);
  } catch (err) {
    return refusal(err);
  } finally {
    secret?.fill(0); // the cache's scrypt and the request encoding are done with it
  }
}
