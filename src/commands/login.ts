/**
 * One PAM call, start to verdict: config, intake, sandbox check, NetAuth, policy.
 * Every local check runs before the NetAuth client is created (and its modules loaded).
 *
 * @module
 */
import type { Config } from "../config.ts";
import { readRootCertificate, trustedRoots } from "../certificate.ts";
import { notGrantedMessage } from "../sandbox.ts";
import { Exit, type ExitCode } from "../exit_codes.ts";
import { HelperError, type HelperOutcome } from "../errors.ts";
import type { LogFields, Logger } from "../log.ts";
import type { NetAuthClient } from "../netauth/client.ts";
import { type PamRequest, type ReadInto, readPamRequest, readSecret } from "../pam_request.ts";
import type { Decide, Outcome, PolicyOptions } from "../policy.ts";
import type { Forwarded } from "../broker/forward.ts";

/** What one PAM call needs from outside; tests pass fakes. */
export interface LoginDeps {
  /** Reads the PAM environment (PAM_TYPE, PAM_USER, ...). */
  getEnv: (name: string) => string | undefined;
  /** Where pam_exec's `expose_authtok` writes the password. */
  stdin: ReadableStream<Uint8Array> | ReadInto;
  /** Reads and checks the config file. */
  loadConfig: () => Promise<Config>;
  /** Whether the sandbox lets this process reach the configured server. */
  netGranted: (config: Config) => boolean;
  /** Starts the TLS library's one-time set-up in the background (netauth/tls_warm_up.ts). */
  warmUpTls: () => void;
  /** The NetAuth client, created only once the request passed every local check. */
  connect: (config: Config, request: PamRequest, rootCertificate: Uint8Array | undefined) => Promise<NetAuthClient>;
  /** Where the decision's log line goes; bound to the request's fields as they become known. */
  logger: Logger;
  /** The policy: plain `decide`, or one that falls back to the offline cache. */
  decide: Decide;
  /** The warm broker's fast path (src/broker/forward.ts), with --broker-socket: tried once local checks pass. */
  broker?: (request: PamRequest, secret: Uint8Array | undefined) => Promise<Forwarded>;
}

/** NetAuth's (or the cache's) decision, or a local refusal. */
export interface LoginResult {
  /** The exit status for pam_exec. */
  exit: ExitCode;
  /** What happened, for the log line's `outcome`; the broker's words are the same, checked to be a word. */
  outcome: Outcome | HelperOutcome | string;
  /** The log line's message. */
  msg: string;
  /** Fields for the decision's log line beyond the request's, which the logger carries. */
  fields: LogFields;
}

/**
 * One PAM call, start to verdict: reads the request and password, checks the config, certificate and sandbox,
 * then asks NetAuth (through `deps.decide`). A local failure (a HelperError) is a LoginResult with its exit code;
 * anything else is a bug, rethrown for the caller to end as an internal error (main.ts: exit 4).
 */
export async function handleLogin(policy: PolicyOptions, deps: LoginDeps): Promise<LoginResult> {
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
    if (deps.broker) {
      secret = request.type === "auth" ? await readSecret(deps.stdin) : undefined;
      const forwarded = await deps.broker(request, secret);
      if (forwarded.answered) {
        const { exit, outcome, msg, source } = forwarded;
        bindRequest({ path: "broker" });
        return { exit, outcome, msg, fields: { source } };
      }
      if (forwarded.untrusted) deps.logger.log("WARN", `broker socket ignored: ${forwarded.why}`);
      // Bound, so every later line says so, the deadline's and an internal error's included.
      bindRequest({ path: "direct", broker: forwarded.why });
    }
    const config = await deps.loadConfig();
    deps.logger.log("DEBUG", "config loaded", {
      config: config.file,
      server: config.server,
      port: config.port,
      tls: !config.pwnMe,
    });
    if (request.type === "auth") secret ??= await readSecret(deps.stdin);
    if (!deps.netGranted(config)) throw new HelperError(Exit.SERVICE_ERR, "bad_config", notGrantedMessage(config));
    if (config.pwnMe) deps.logger.log("WARN", "tls.pwn_me is set: talking to NetAuth in plaintext");
    else deps.warmUpTls(); // only now: a request refused on sight pays nothing for it
    // Only the certificates valid now, as in --check (certificate.ts says why).
    const root = config.pwnMe ? undefined : (await trustedRoots(config, await readRootCertificate(config))).pem;
    const started = performance.now();
    const client = await deps.connect(config, request, root);
    deps.logger.log("TRACE", "client ready", { ms: Math.round(performance.now() - started) });
    try {
      const decision = await deps.decide(request, secret, client, policy);
      deps.logger.log("DEBUG", "NetAuth answered", {
        outcome: decision.outcome,
        ms: Math.round(performance.now() - started),
      });
      return { exit: decision.exit, outcome: decision.outcome, msg: decision.msg, fields: { source: decision.source } };
    } finally {
      client.close();
    }
  } catch (err) {
    if (err instanceof HelperError) return { exit: err.exit, outcome: err.outcome, msg: err.message, fields: {} };
    throw err;
  } finally {
    secret?.fill(0); // the cache's scrypt and the request encoding are done with it
  }
}
