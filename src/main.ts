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
import { runLogin } from "./commands/run.ts";
import { greetBroker } from "./broker/forward.ts";
import { type Config, loadConfig } from "./config.ts";
import { loginDeadline, processAge, STARTED_ENV, WAITED_ENV, waitedMs } from "./deadline.ts";
import { HelperError } from "./errors.ts";
import { Exit, type ExitCode, exitInfo } from "./exit_codes.ts";
import { hiddenFromOthers } from "./file_modes.ts";
import { FactsError, readHostFacts } from "./host_facts.ts";
import { createLogger, DEFAULT_LOG_LEVEL, levelFromEnvironment, LOG_LEVEL_ENV, type LogFields } from "./log.ts";
import type { NetAuthClient } from "./netauth/client.ts";
import { inspectRuntimeDir } from "./runtime_dir.ts";
import { installDirOf, netPermission } from "./sandbox.ts";
import { VERSION } from "./version.ts";

const age = processAge(Deno.env.get(STARTED_ENV));
const waited = waitedMs(Deno.env.get(WAITED_ENV));
const envLevel = levelFromEnvironment(Deno.env.get(LOG_LEVEL_ENV));
let logger = createLogger(envLevel ?? DEFAULT_LOG_LEVEL);

/** Logs the decision's one line and gives back its exit code. */
function finish(exit: ExitCode, outcome: string, msg: string, fields: LogFields = {}): ExitCode {
  logger.log(exitInfo(exit).logLevel, msg, { ...fields, outcome, exit, waited, ms: age.elapsed() });
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
        broker: options.brokerSocket
          ? {
            socket: options.brokerSocket,
            greet: greetBroker,
            // An installed helper knows its manifest: the broker must have started from those files, unchanged.
            vouch: options.runtimeDir
              ? async (conn) =>
                (await import("./broker/vouch.ts")).vouchForBroker(conn, installDirOf(options.runtimeDir!))
              : undefined,
          }
          : undefined,
        print,
        hiddenFromOthers,
        requireGroups: options.requireGroups,
        user: options.checkUser && {
          ...options.checkUser,
          facts: () =>
            Deno.stdin.isTerminal()
              ? Promise.reject(new FactsError("no host facts on stdin (a terminal)"))
              : readHostFacts(Deno.stdin.readable, deadline.at),
        },
      });
    case "serve": {
      // The broker loads gRPC and the cache once, up front: it is long-lived.
      const { serveBroker } = await import("./commands/serve.ts");
      const level = options.logLevel ?? envLevel ?? DEFAULT_LOG_LEVEL;
      return await serveBroker(options, {
        loadConfig: config,
        netGranted,
        newLogger: () => createLogger(level),
        getEnv: (name) => Deno.env.get(name),
      });
    }
    case "run":
      return await runLogin({ options, logger, deadline, loadConfig: config, netGranted, connect, finish });
  }
}

main().then(Deno.exit, (err) => {
  if (err instanceof HelperError) Deno.exit(finish(err.exit, err.outcome, err.message));
  // Anything else is our bug: one line, no stack, the documented code.
  Deno.exit(finish(Exit.SYSTEM_ERR, "internal_error", `internal error: ${String(err?.message ?? err).split("\n")[0]}`));
});
