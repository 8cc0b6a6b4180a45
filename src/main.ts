/**
 * Entry point: wires argv, environment, stdin and the NetAuth client into the commands
 * (src/commands/), then exits with the PAM code. Nothing here decides anything.
 *
 * @module
 */
import { parseCommandLine } from "./cli.ts";
import { auditCommand } from "./commands/audit.ts";
import { runCheck } from "./commands/check.ts";
import { helpText } from "./commands/help.ts";
import { handleLogin } from "./commands/login.ts";
import { type Config, loadConfig } from "./config.ts";
import { cacheReserveMs, loginDeadline, processAge, STARTED_ENV } from "./deadline.ts";
import { HelperError } from "./errors.ts";
import { Exit, type ExitCode, exitInfo } from "./exit_codes.ts";
import { hiddenFromOthers } from "./file_modes.ts";
import { createLogger, DEFAULT_LOG_LEVEL, levelFromEnvironment, LOG_LEVEL_ENV, type LogFields } from "./log.ts";
import type { NetAuthClient } from "./netauth/client.ts";
import { type Decide, decide } from "./policy.ts";

import { inspectRuntimeDir } from "./runtime_dir.ts";
import { netPermission } from "./sandbox.ts";
import { warmUpTls } from "./netauth/tls_warm_up.ts";
import { forwardToBroker } from "./broker/forward.ts";
import { VERSION } from "./version.ts";

const age = processAge(Deno.env.get(STARTED_ENV));
const envLevel = levelFromEnvironment(Deno.env.get(LOG_LEVEL_ENV));
let logger = createLogger(envLevel ?? DEFAULT_LOG_LEVEL);

/** Logs the decision's one line and gives back its exit code. */
function finish(exit: ExitCode, outcome: string, msg: string, fields = {}): ExitCode {
  logger.log(exitInfo(exit).logLevel, msg, { ...fields, outcome, exit, ms: age.elapsed() });
  return exit;
}

const netGranted = (c: Config) =>
  Deno.permissions.querySync({ name: "net", host: netPermission(c.server, c.port) }).state === "granted";

/** `deadline` is asked for once gRPC has loaded, so a short probe (outage/gate.ts) is all network time. */
async function connect(
  config: Config,
  service: string,
  deadline: number | (() => Promise<number>),
  root?: Uint8Array,
): Promise<NetAuthClient> {
  // Loaded here, not at the top: paths that need no server never pay for gRPC.
  const { connectNetAuth } = await import("./netauth/grpc_client.ts");
  const due = typeof deadline === "number" ? deadline : await deadline();
  return connectNetAuth(config, { service, deadline: due, rootCertificate: root });
}

async function main(): Promise<ExitCode> {
  const options = parseCommandLine(Deno.args);
  logger = createLogger(options.logLevel ?? envLevel ?? DEFAULT_LOG_LEVEL);
  const deadline = loginDeadline(age, options.timeoutSeconds);
  const config = () => loadConfig(options.configPath, () => Deno.hostname());
  const print = (line: string) => console.log(line);

  switch (options.command) {
    case "help":
      print(helpText());
      return Exit.SUCCESS;
    case "version":
      print(`netauth-pam-helper ${VERSION}`);
      return Exit.SUCCESS;
    case "audit":
      return await auditCommand(
        {
          configPath: options.configPath,
          cacheDir: options.cache?.dir,
          runtimeDir: options.runtimeDir,
          brokerSocket: options.brokerSocket,
        },
        {
          loadConfig: config,
          inspectArtefact: async (dir) => (await import("./artefact.ts")).inspectArtefact(dir),
          cacheProblem: async (dir) => (await import("./cache/open.ts")).cacheProblem(dir),
          print,
        },
      );
    case "check":
      return await runCheck({
        loadConfig: config,
        netGranted,
        connect: (c, root) => connect(c, "netauth-pam-helper-check", deadline.at, root),
        cache: options.cache && {
          dir: options.cache.dir,
          problem: async () => (await import("./cache/open.ts")).cacheProblem(options.cache!.dir),
        },
        runtime: options.runtimeDir
          ? { dir: options.runtimeDir, inspect: () => inspectRuntimeDir(options.runtimeDir!) }
          : undefined,
        outage: (await import("./outage/open.ts")).outageStore(options.cache?.dir, options.runtimeDir),
        print,
        hiddenFromOthers,
        requireGroups: options.requireGroups,
      });
    case "serve": {
      // The broker loads gRPC and the cache once, up front: it is long-lived.
      const { serveBroker } = await import("./broker/serve.ts");
      const level = options.logLevel ?? envLevel ?? DEFAULT_LOG_LEVEL;
      return await serveBroker(options, { loadConfig: config, netGranted, newLogger: () => createLogger(level) });
    }
    case "run": {
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
        const cached = await (await import("./cache/open.ts")).openCache(cache!, logger, deadline.at);
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
        loadConfig: () => (armDeadline(), config()),
        netGranted,
        warmUpTls,
        connect: async (c, request, root) => {
          const gate = (await import("./outage/open.ts")).openOutageGate(
            { cacheDir: cache?.dir, runtimeDir: options.runtimeDir, windowMs: options.outageWindowMs },
            logger,
          );
          outage = gate;
          if (!gate) return connect(c, request.service, deadline.at - reserve, root);
          return gate.watch(await connect(c, request.service, () => gate.begin(deadline.at - reserve), root));
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
  }
}

main().then(Deno.exit, (err) => {
  if (err instanceof HelperError) Deno.exit(finish(err.exit, err.outcome, err.message));
  // Anything else is our bug: one line, no stack, the documented code.
  Deno.exit(finish(Exit.SYSTEM_ERR, "internal_error", `internal error: ${String(err?.message ?? err).split("\n")[0]}`));
});
