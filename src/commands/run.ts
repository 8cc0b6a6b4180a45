/**
 * One PAM call (`PAM_TYPE` auth or account) on the direct path, wired: the deadline armed at the first
 * step that can block, the broker's fast path, then the login (src/login.ts) with a fresh connection and
 * the CA read for this run. The decisions themselves are login.ts's and policy.ts's.
 *
 * @module
 */
import { readRootCertificate, trustedRoots } from "../certificate.ts";
import type { Options } from "../cli.ts";
import type { Config } from "../config.ts";
import type { Deadline } from "../deadline.ts";
import { Exit, type ExitCode } from "../exit_codes.ts";
import type { LogFields, Logger } from "../log.ts";
import { decideLogin, type LoginParts } from "../login.ts";
import { warmUpTls } from "../netauth/tls_warm_up.ts";
import { forwardToBroker } from "../broker/forward.ts";
import { handleLogin } from "./login.ts";

/** What a PAM call needs from the entry point: the parsed options and its process-wide parts. */
export interface RunLoginParts {
  /** The parsed command line. */
  options: Options;
  /** Where the request's lines go (stderr, at the chosen level). */
  logger: Logger;
  /** The run's deadline, counted from the process's start. */
  deadline: Deadline;
  /** Loads the config (strict modes first). */
  loadConfig: () => Promise<Config>;
  /** Whether the sandbox lets the helper reach the configured server. */
  netGranted: (config: Config) => boolean;
  /** Opens a fresh NetAuth client; `due` is asked for once gRPC has loaded (login.ts says why). */
  connect: LoginParts["connect"];
  /** Logs the decision line and gives back its exit code (main.ts's, so the deadline's line is the same). */
  finish: (exit: ExitCode, outcome: string, msg: string, fields?: LogFields) => ExitCode;
}

/** Runs one PAM call to its decision line and returns its exit code. */
export async function runLogin(parts: RunLoginParts): Promise<ExitCode> {
  const { options, logger, deadline, finish } = parts;
  // The deadline covers everything, a stalled stdin included. docs/performance.md: the timer is
  // armed at the first step that can block (stdin or the config), so a PAM request refused on
  // sight never pays for Deno's timers (~3 MiB); it fires at the same time.
  const reason = `deadline of ${options.timeoutSeconds}s passed`;
  const armDeadline = () => deadline.arm(() => Deno.exit(finish(Exit.AUTHINFO_UNAVAIL, "deadline", reason)));
  const broker = options.brokerSocket;
  const result = await handleLogin({
    getEnv: (name) => Deno.env.get(name),
    // A getter: a request refused on sight never reads stdin. Plain reads, not Deno.stdin.readable: a stream
    // costs ~2 MiB more per run.
    get stdin() {
      armDeadline(); // a stalled stdin ends at the deadline too
      return (into: Uint8Array) => Deno.stdin.read(into);
    },
    logger,
    // With --broker-socket, tried once the local checks pass; the deadline covers it too.
    broker: broker
      ? (request, secret) => (armDeadline(),
        forwardToBroker({
          socket: broker,
          request,
          secret,
          options,
          deadline: deadline.at,
        }))
      : undefined,
    login: (request, secret) =>
      decideLogin(request, secret, options, {
        logger,
        deadline: deadline.at,
        loadConfig: () => (armDeadline(), parts.loadConfig()),
        netGranted: parts.netGranted,
        warmUpTls,
        // Only the certificates valid now, as in --check (certificate.ts says why).
        roots: async (config) =>
          config.pwnMe ? undefined : (await trustedRoots(config, await readRootCertificate(config))).pem,
        connect: parts.connect,
      }),
  });
  return finish(result.exit, result.outcome, result.msg, result.fields);
}
