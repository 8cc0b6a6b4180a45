// Entry point: wires argv, environment, stdin and the NetAuth client into the modules
// that do the work, then exits with the PAM code. Nothing here decides anything.
import { parseCommandLine } from "./cli.ts";
import { runAudit } from "./audit.ts";
import { runCheck } from "./check.ts";
import { type Config, loadConfig } from "./config.ts";
import { hiddenFromOthers } from "./file_modes.ts";
import { Exit, type ExitCode } from "./exit_codes.ts";
import { HelperError } from "./errors.ts";
import { helpText } from "./help.ts";
import { createLogger, DEFAULT_LOG_LEVEL, LOG_LEVEL_ENV, parseLogLevel } from "./log.ts";
import { handleLogin } from "./login.ts";
import { decide } from "./policy.ts";
import { inspectRuntimeDir } from "./runtime_dir.ts";
import type { NetAuthClient } from "./netauth/client.ts";
import { installDirOf, netPermission } from "./sandbox.ts";
import { VERSION } from "./version.ts";

const started = performance.now();
const elapsed = () => Math.round(performance.now() - started);
const envLevel = parseLogLevel(Deno.env.get(LOG_LEVEL_ENV) ?? "");
let logger = createLogger(envLevel ?? DEFAULT_LOG_LEVEL);

/** Logs the decision's one line and gives back its exit code. */
function finish(exit: ExitCode, outcome: string, msg: string, fields = {}): ExitCode {
  const level = exit === Exit.SUCCESS ? "INFO" : exit >= 6 && exit !== 9 ? "WARN" : "ERROR";
  logger.log(level, msg, { ...fields, outcome, exit, ms: elapsed() });
  return exit;
}

const netGranted = (c: Config) =>
  Deno.permissions.querySync({ name: "net", host: netPermission(c.server, c.port) }).state === "granted";

async function connect(config: Config, service: string, deadline: number, root?: Uint8Array): Promise<NetAuthClient> {
  // Loaded here, not at the top: paths that need no server never pay for gRPC.
  const { connectNetAuth } = await import("./netauth/grpc_client.ts");
  return connectNetAuth(config, { service, deadline, rootCertificate: root });
}

async function main(): Promise<ExitCode> {
  const options = parseCommandLine(Deno.args);
  logger = createLogger(options.logLevel ?? envLevel ?? DEFAULT_LOG_LEVEL);
  const deadline = Date.now() + options.timeoutSeconds * 1000;
  const config = () => loadConfig(options.configPath, () => Deno.hostname());

  switch (options.command) {
    case "help":
      console.log(helpText());
      return Exit.SUCCESS;
    case "version":
      console.log(`netauth-pam-helper ${VERSION}`);
      return Exit.SUCCESS;
    case "audit": {
      const loaded = await config().then((c) => ({ c, e: undefined }), (e: Error) => ({ c: undefined, e: e.message }));
      const artefact = options.runtimeDir
        ? await (await import("./artefact.ts")).inspectArtefact(installDirOf(options.runtimeDir))
        : undefined;
      const report = runAudit(options.configPath, loaded.c, loaded.e, options.cache?.dir, options.runtimeDir, artefact);
      console.log(JSON.stringify(report, null, 2));
      return report.ok ? Exit.SUCCESS : Exit.SYSTEM_ERR;
    }
    case "check":
      return await runCheck({
        loadConfig: config,
        netGranted,
        connect: (c, root) => connect(c, "netauth-pam-helper-check", deadline, root),
        cache: options.cache && {
          dir: options.cache.dir,
          problem: async () => (await import("./cache/open.ts")).cacheProblem(options.cache!.dir),
        },
        runtime: options.runtimeDir
          ? { dir: options.runtimeDir, inspect: () => inspectRuntimeDir(options.runtimeDir!) }
          : undefined,
        print: (line) => console.log(line),
        hiddenFromOthers,
        requireGroups: options.requireGroups,
      });
    case "run": {
      // The deadline covers everything, a stalled stdin included.
      const reason = `deadline of ${options.timeoutSeconds}s passed`;
      setTimeout(
        () => Deno.exit(finish(Exit.AUTHINFO_UNAVAIL, "deadline", reason)),
        options.timeoutSeconds * 1000 + 200,
      );
      // With a cache, NetAuth gets less of the deadline so the offline check still fits in it.
      const reserve = options.cache ? Math.min(1000, options.timeoutSeconds * 250) : 0;
      // The cache's modules (and scrypt) load only where a cache is configured.
      const cached = options.cache &&
        await (await import("./cache/open.ts")).openCache(options.cache, logger, deadline);
      const result = await handleLogin(options, {
        getEnv: (name) => Deno.env.get(name),
        stdin: Deno.stdin.readable,
        loadConfig: config,
        netGranted,
        connect: (c, request, root) => connect(c, request.service, deadline - reserve, root),
        logger,
        decide: cached || decide,
      });
      return finish(result.exit, result.outcome, result.msg, result.fields);
    }
  }
}

main().then(Deno.exit, (err) => {
  if (err instanceof HelperError) Deno.exit(finish(err.exit, err.outcome, err.message));
  // Anything else is our bug: one line, no stack, the documented code.
  Deno.exit(finish(Exit.SYSTEM_ERR, "internal_error", `internal error: ${String(err?.message ?? err).split("\n")[0]}`));
});
