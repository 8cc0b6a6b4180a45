/**
 * One PAM call (`PAM_TYPE` auth or account), wired: the deadline armed at the first step that can block,
 * the broker's fast path, the offline cache opened at the decision and the outage gate around the
 * connection, each loaded only where the request needs it. The decisions themselves are
 * `handleLogin`'s (commands/login.ts).
 *
 * @module
 */
import type { Options } from "../cli.ts";
import type { Config } from "../config.ts";
import { cacheReserveMs, type Deadline, realTryBudget } from "../deadline.ts";
import { Exit, type ExitCode } from "../exit_codes.ts";
import type { LogFields, Logger } from "../log.ts";
import type { NetAuthClient } from "../netauth/client.ts";
import { warmUpTls } from "../netauth/tls_warm_up.ts";
import { type Decide, decide } from "../policy.ts";
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
  /** Opens the NetAuth client; `due` is asked for once gRPC has loaded (the outage gate's probe budget). */
  connect: (
    config: Config,
    service: string,
    due: number | (() => Promise<number>),
    root?: Uint8Array,
  ) => Promise<NetAuthClient>;
  /** Logs the decision line and gives back its exit code (main.ts's, so the deadline's line is the same). */
  finish: (exit: ExitCode, outcome: string, msg: string, fields?: LogFields) => ExitCode;
}

/** Runs one PAM call to its decision line and returns its exit code. */
export async function runLogin(parts: RunLoginParts): Promise<ExitCode> {
  const { options, logger, deadline, finish } = parts;
  // The deadline covers everything, a stalled stdin included. docs/performance.md: the timer is
  // armed at the first step that can block (loading the config), so a PAM request refused on
  // sight never pays for Deno's timers (~3 MiB); it fires at the same time.
  const reason = `deadline of ${options.timeoutSeconds}s passed`;
  const armDeadline = () => deadline.arm(() => Deno.exit(finish(Exit.AUTHINFO_UNAVAIL, "deadline", reason)));
  const reserve = options.cache ? cacheReserveMs(options.timeoutSeconds) : 0;
  const cache = options.cache;
  // The cache (its modules, node:crypto, the directory walk) opens at the decision: only a request
  // that passed every local check pays for it.
  const decideWithCache: Decide = async (...call) => {
    const cached = await (await import("../cache/open.ts")).openCache(cache!, logger, deadline.at);
    return await (cached ?? decide)(...call);
  };
  /** Followed only by a request that reached the network: the outage record's modules load there. */
  let outage: { settle(): Promise<void>; fields(): LogFields } | undefined;
  const broker = options.brokerSocket;
  const result = await handleLogin({ requireGroups: options.requireGroups }, {
    getEnv: (name) => Deno.env.get(name),
    // A getter: a request refused on sight never reads stdin. Plain reads, not Deno.stdin.readable: a stream
    // costs ~2 MiB more per run.
    get stdin() {
      armDeadline(); // a stalled stdin ends at the deadline too (the broker's path reads it before the config)
      return (into: Uint8Array) => Deno.stdin.read(into);
    },
    loadConfig: () => (armDeadline(), parts.loadConfig()),
    netGranted: parts.netGranted,
    warmUpTls,
    connect: async (c, request, root) => {
      const gate = (await import("../outage/open.ts")).openOutageGate(
        { cacheDir: cache?.dir, runtimeDir: options.runtimeDir, windowMs: options.outageWindowMs },
        logger,
      );
      outage = gate;
      const full = deadline.at - reserve;
      // Asked once gRPC has loaded, right before the call's deadline is fixed: too little time left is
      // no_time (exit 9), never a failed try the cache or the outage record could answer for.
      const due = async () => (realTryBudget(full, Date.now()), gate ? await gate.begin(full) : full);
      const client = await parts.connect(c, request.service, due, root);
      return gate ? gate.watch(client) : client;
    },
    logger,
    decide: cache ? decideWithCache : decide,
    // With --broker-socket, tried once the local checks pass; the deadline covers it too.
    broker: broker
      ? (
        request,
        secret,
      ) => (armDeadline(),
        forwardToBroker({
          socket: broker,
          request,
          secret,
          requireGroups: options.requireGroups,
          deadline: deadline.at,
        }))
      : undefined,
  });
  await outage?.settle();
  return finish(result.exit, result.outcome, result.msg, { ...outage?.fields(), ...result.fields });
}
