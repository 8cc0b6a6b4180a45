/**
 * The login, wired once for both transports: a checked PAM request and its password in, a verdict out.
 * Config and sandbox checks, the trusted roots, NetAuth's share of the deadline (the offline cache's
 * reserve, a real try or nothing), the outage gate around the connection and the offline cache around the
 * decision. The direct path (commands/run.ts) and the broker (commands/serve.ts) differ only in the parts
 * they pass: a fresh channel or the warm one, a CA read per run or once.
 *
 * @module
 */
export type { LoginOptions } from "./login_options.ts";
import type { Config } from "./config.ts";
import { cacheReserveMs, realTryBudget } from "./deadline.ts";
import { HelperError, type HelperOutcome } from "./errors.ts";
import { Exit, type ExitCode } from "./exit_codes.ts";
import type { LogFields, Logger } from "./log.ts";
import type { NetAuthClient } from "./netauth/client.ts";
import type { LoginOptions } from "./login_options.ts";
import type { PamRequest } from "./pam_request.ts";
import { decide, type Outcome } from "./policy.ts";
import { notGrantedMessage } from "./sandbox.ts";

/** What a transport gives the login: its clock, config, roots and way to NetAuth. */
export interface LoginParts {
  /** Where the login's lines go, bound to the request's fields by the caller. */
  logger: Logger;
  /** Epoch ms by which the answer is due. */
  deadline: number;
  /** The config, strict modes checked. */
  loadConfig: () => Promise<Config>;
  /** Whether the sandbox lets this process reach the configured server. */
  netGranted: (config: Config) => boolean;
  /** Starts the TLS library's one-time set-up in the background (netauth/tls_warm_up.ts). */
  warmUpTls: () => void;
  /** The roots to trust (PEM), undefined in plaintext: read per run, or once by the broker. */
  roots: (config: Config) => Promise<Uint8Array | undefined>;
  /**
   * The NetAuth client. `due` fixes the calls' deadline: ask it right before calling (it may throw a HelperError
   * when too little time is left for a real try), after anything slow such as loading gRPC.
   */
  connect: (config: Config, service: string, due: () => Promise<number>, root?: Uint8Array) => Promise<NetAuthClient>;
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

/** A HelperError as the result it stands for; anything else is a bug and is thrown on. */
export function refusal(err: unknown): LoginResult {
  if (err instanceof HelperError) return { exit: err.exit, outcome: err.outcome, msg: err.message, fields: {} };
  throw err;
}

/**
 * The verdict for a checked request: never throws for a local refusal (a LoginResult with its exit code), only
 * for a bug. `secret` is the auth password; the caller zeroes it.
 */
export async function decideLogin(
  request: PamRequest,
  secret: Uint8Array | undefined,
  options: LoginOptions,
  parts: LoginParts,
): Promise<LoginResult> {
  const { logger } = parts;
  let outage: { settle(): Promise<void>; fields(): LogFields } | undefined;
  try {
    const config = await parts.loadConfig();
    const loaded = { config: config.file, server: config.server, port: config.port, tls: !config.pwnMe };
    logger.log("DEBUG", "config loaded", loaded);
    if (!parts.netGranted(config)) throw new HelperError(Exit.SERVICE_ERR, "bad_config", notGrantedMessage(config));
    if (config.pwnMe) logger.log("WARN", "tls.pwn_me is set: talking to NetAuth in plaintext");
    else parts.warmUpTls(); // only now: a request refused on sight pays nothing for it
    const root = await parts.roots(config);
    // The outage record's and the cache's modules load only for a request that reaches the network.
    const gate = (await import("./outage/open.ts")).openOutageGate(
      { cacheDir: options.cache?.dir, runtimeDir: options.runtimeDir, windowMs: options.outageWindowMs },
      logger,
    );
    outage = gate;
    // With a cache, NetAuth's share ends early enough for the offline check to fit before the deadline.
    const full = parts.deadline - (options.cache ? cacheReserveMs(options.timeoutSeconds) : 0);
    // Too little time left is no_time (exit 9): never a failed try the cache or the outage record answers for.
    const due = async () => (realTryBudget(full, Date.now()), gate ? await gate.begin(full) : full);
    const started = performance.now();
    const connected = await parts.connect(config, request.service, due, root);
    const client = gate ? gate.watch(connected) : connected;
    logger.log("TRACE", "client ready", { ms: Math.round(performance.now() - started) });
    try {
      const cached = options.cache &&
        await (await import("./cache/open.ts")).openCache(options.cache, logger, parts.deadline);
      const policy = { requireGroups: options.requireGroups };
      const decision = await (cached || decide)(request, secret, client, policy);
      logger.log("DEBUG", "NetAuth answered", {
        outcome: decision.outcome,
        ms: Math.round(performance.now() - started),
      });
      await outage?.settle();
      const fields = { ...outage?.fields(), source: decision.source };
      return { exit: decision.exit, outcome: decision.outcome, msg: decision.msg, fields };
    } finally {
      client.close();
    }
  } catch (err) {
    return refusal(err);
  }
}
