/**
 * `--serve`: the warm broker. One TLS/HTTP2 channel to NetAuth kept open, a unix socket in root's
 * 0700 directory, and for each request the helper's own login (src/login.ts) for the request checked
 * at the boundary (pam_request.ts checkPamRequest) under the options of the PAM line that asked: the
 * same policy, offline cache and outage record decide (so the direct path and the broker count the
 * same tries, under the same locks). A line the broker cannot serve as asked is refused: it goes direct.
 *
 * @module
 */
import { readRootCertificate, trustedRoots } from "../certificate.ts";
import type { Options } from "../cli.ts";
import { GROUP_NAME, MAX_TIMEOUT_SECONDS } from "../cli.ts";
import type { Config } from "../config.ts";
import { HelperError } from "../errors.ts";
import { Exit, type ExitCode, exitInfo } from "../exit_codes.ts";
import type { Logger } from "../log.ts";
import { decideLogin, type LoginOptions, type LoginResult, refusal } from "../login.ts";
import { checkPamRequest, checkSecret } from "../pam_request.ts";
import { installDirOf, notGrantedMessage } from "../sandbox.ts";
import { connectNetAuth, openSharedChannel, type SharedChannel } from "../netauth/grpc_client.ts";
import {
  type BrokerLine,
  type BrokerReply,
  type BrokerRequest,
  type BrokerStatus,
  decodeFrame,
  encodeHello,
  encodeRefused,
  encodeReply,
  encodeStatus,
  ProtocolError,
  readFrame,
  writeAll,
} from "../broker/protocol.ts";
import { type BrokerConn, openListener } from "../broker/listener.ts";
import { Admission } from "../broker/limits.ts";
import { closeQuietly, socketDirProblem } from "../broker/socket.ts";
import { startStatus } from "../broker/vouch.ts";

/** A helper sends its request right after the greeting: one that does not is dropped. */
export const REQUEST_READ_MS = 1000;
/**
 * HTTP/2 keepalive during calls every 5 minutes (what a Go gRPC server allows by default: more
 * often, or without calls, earns a GOAWAY), the idle timeout off for a day, and reconnects backing
 * off from 1 s to 30 s. The channel reconnects as soon as it falls idle (grpc_client.ts openSharedChannel).
 */
const CHANNEL_OPTIONS = {
  "grpc.keepalive_time_ms": 300_000,
  "grpc.keepalive_timeout_ms": 20_000,
  "grpc.client_idle_timeout_ms": 86_400_000,
  "grpc.initial_reconnect_backoff_ms": 1000,
  "grpc.max_reconnect_backoff_ms": 30_000,
};

/** What the broker takes from main.ts. */
export interface ServeDeps {
  /** The baked config, read once at start (a change needs a restart). */
  loadConfig: () => Promise<Config>;
  /** Whether the sandbox covers the configured server. */
  netGranted: (config: Config) => boolean;
  /** A fresh logger: each request binds its own fields. */
  newLogger: () => Logger;
  /** The environment, for the socket systemd may pass (listener.ts). */
  getEnv: (name: string) => string | undefined;
}

/** Runs until SIGTERM or SIGINT; a config, directory or socket it cannot use ends it with one line and exit 3. */
export async function serveBroker(options: Options, deps: ServeDeps): Promise<ExitCode> {
  const socket = options.brokerSocket!;
  // What it started from, hashed now and done before it listens (broker/vouch.ts): --check and --verify ask for it.
  const status = startStatus(options.runtimeDir && installDirOf(options.runtimeDir), Date.now() - performance.now());
  const log = deps.newLogger();
  const config = await deps.loadConfig();
  if (!deps.netGranted(config)) throw new HelperError(Exit.SERVICE_ERR, "bad_config", notGrantedMessage(config));
  const dirProblem = await socketDirProblem(socket);
  if (dirProblem) {
    throw new HelperError(
      Exit.SERVICE_ERR,
      "bad_install",
      `broker socket directory ${dirProblem.why}: re-run install.sh --broker`,
    );
  }
  const root = config.pwnMe ? undefined : (await trustedRoots(config, await readRootCertificate(config))).pem;
  const channel = openSharedChannel(config, root, CHANNEL_OPTIONS); // connects now, not at the first login
  await status();
  const listener = await openListener(socket, deps.getEnv); // systemd's socket, or a new one
  // A stray rejection must not end the broker: the logins in flight would fall back, but say so.
  globalThis.addEventListener("unhandledrejection", (event) => {
    event.preventDefault();
    log.log("ERROR", `internal error: ${String(event.reason?.message ?? event.reason).split("\n")[0]}`);
  });
  const stopped = new Promise<void>((resolve) => {
    const stop = () => {
      listener.close();
      resolve();
    };
    Deno.addSignalListener("SIGTERM", stop);
    Deno.addSignalListener("SIGINT", stop);
  });
  log.log("INFO", "broker listening", {
    socket,
    from: listener.activated ? "systemd" : undefined,
    server: config.server,
    port: config.port,
    cache: options.cache?.dir,
  });

  const admission = new Admission(); // broker/limits.ts: what is queued, what is refused
  const serveOne = connectionHandler(options, { config, root, channel, admission, newLogger: deps.newLogger, status });
  const accepting = (async () => {
    for await (const conn of listener) {
      const leave = admission.enter();
      if (!leave) {
        refuse(conn, "busy").finally(() => closeQuietly(conn));
        continue;
      }
      serveOne(conn).finally(leave);
    }
  })();
  await stopped;
  await accepting;
  channel.close();
  log.log("INFO", "broker stopped", { socket });
  return Exit.SUCCESS;
}

interface Warm {
  config: Config;
  /** The roots read at start: the channel was opened with them, and no request reads the CA again. */
  root: Uint8Array | undefined;
  channel: SharedChannel;
  /** The in-flight place was taken at accept; a turn to decide is taken here. */
  admission: Admission;
  newLogger: () => Logger;
  /** The answer to `ASK`: the code this broker started from. */
  status: () => Promise<BrokerStatus>;
}

function connectionHandler(options: Options, warm: Warm): (conn: BrokerConn) => Promise<void> {
  return async (conn) => {
    const started = performance.now();
    const logger = warm.newLogger();
    let body: Uint8Array | null = null;
    try {
      await writeAll((bytes) => conn.write(bytes), encodeHello());
      body = await firstFrame(conn);
      if (!body) return;
      const frame = decodeFrame(body);
      if (frame.kind === "ask") return await writeAll((bytes) => conn.write(bytes), encodeStatus(await warm.status()));
      if (frame.kind !== "request") throw new ProtocolError(`expected a request, got a ${frame.kind} frame`);
      const received = Date.now();
      const turn = await warm.admission.turn(frame.request.remainingMs);
      if (!turn) {
        logger.log("WARN", "request refused: busy", { waiting: warm.admission.waiting });
        return await refuse(conn, "busy");
      }
      // The wait in line counts against the login's deadline; the turn ends with the login's work, not its answer.
      const remainingMs = frame.request.remainingMs - (Date.now() - received);
      const result = await answer({ ...frame.request, remainingMs }, options, warm, logger, turn);
      // The decision is logged first: it stands even when the helper has gone by the time it is sent.
      logger.log(exitInfo(result.exit).logLevel, result.msg, {
        ...result.fields,
        outcome: result.outcome,
        exit: result.exit,
        ms: Math.round(performance.now() - started),
      });
      await writeAll(
        (bytes) => conn.write(bytes),
        encodeReply({ ...result, ...(result.fields as Pick<BrokerReply, "source" | "outage" | "since" | "attempt">) }),
      );
    } catch (err) {
      if (err instanceof Deno.errors.BrokenPipe || err instanceof Deno.errors.ConnectionReset) {
        logger.log("DEBUG", "helper hung up before its answer"); // it has gone direct
        return;
      }
      const why = err instanceof ProtocolError
        ? err.message
        : `internal error: ${String((err as Error)?.message ?? err).split("\n")[0]}`;
      logger.log(err instanceof ProtocolError ? "WARN" : "ERROR", `request refused: ${why}`);
      await refuse(conn, why);
    } finally {
      body?.fill(0); // the frame held the password
      closeQuietly(conn);
    }
  };
}

/** The request's frame, or null when the helper hung up; one not sent in time is a ProtocolError. */
async function firstFrame(conn: BrokerConn): Promise<Uint8Array | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) =>
    timer = setTimeout(() => reject(new ProtocolError(`no request within ${REQUEST_READ_MS} ms`)), REQUEST_READ_MS)
  );
  try {
    const reading = readFrame((into) => conn.read(into));
    reading.catch(() => {}); // after the time ran out, the connection is closed under it: not worth a line
    return await Promise.race([reading, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The helper's login for the frame's request, under its line's options, bounded by the deadline the helper sent;
 * `done` is called once the login's work has ended (it may outlast the answer given at the deadline).
 */
async function answer(
  request: BrokerRequest,
  options: Options,
  warm: Warm,
  logger: Logger,
  done: () => void,
): Promise<LoginResult> {
  let line: LoginOptions;
  try {
    line = lineOptions(request.line, options);
  } catch (err) {
    done();
    throw err;
  }
  const remainingMs = Math.min(request.remainingMs, MAX_TIMEOUT_SECONDS * 1000);
  const deadline = Date.now() + remainingMs;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<LoginResult>((resolve) =>
    timer = setTimeout(() =>
      resolve({
        exit: Exit.AUTHINFO_UNAVAIL,
        outcome: "deadline",
        msg: `deadline of ${line.timeoutSeconds}s passed`,
        fields: {},
      }), remainingMs)
  );
  const login = (async () => {
    try {
      const pam = checkPamRequest(request);
      logger.bind({ entity: pam.entity, service: pam.service, rhost: pam.rhost, type: pam.type });
      const secret = pam.type === "auth" ? checkSecret(request.secret) : undefined; // a view: zeroed with the frame
      return await decideLogin(pam, secret, line, {
        logger,
        deadline,
        loadConfig: () => Promise.resolve(warm.config),
        netGranted: () => true, // checked once, at start
        warmUpTls: () => {},
        roots: () => Promise.resolve(warm.root),
        connect: async (config, service, due, rootCertificate) =>
          connectNetAuth(config, {
            service,
            deadline: await due(),
            channel: warm.channel,
            rootCertificate, // for a fresh channel while the warm one waits to reconnect
          }),
      });
    } catch (err) {
      return refusal(err);
    }
  })();
  login.catch(() => {}).finally(done); // past the deadline, its late failure concerns no one
  try {
    return await Promise.race([login, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The requesting line's options, checked at the boundary: values out of the command line's bounds are malformed;
 * a config, cache or runtime directory other than the broker's is refused (the helper then logs in directly, as
 * the line asks), so the broker never decides under options the line did not give.
 */
function lineOptions(line: BrokerLine, options: Options): LoginOptions {
  const bad = (what: string) => new ProtocolError(`the request's ${what} is out of bounds`);
  const elsewhere = (what: string, asked: string, own = "none") =>
    new ProtocolError(`the line's ${what} ${asked || "none"} is not the broker's (${own})`);
  if (line.requireGroups.some((group) => !GROUP_NAME.test(group))) {
    throw new ProtocolError("a required group is not a group name");
  }
  if (!(line.timeoutMs > 0 && line.timeoutMs <= MAX_TIMEOUT_SECONDS * 1000)) throw bad("--timeout");
  if (!(line.outageWindowMs > 0 && line.outageWindowMs <= 3600e3)) throw bad("--outage-window");
  if (line.configPath !== options.configPath) throw elsewhere("--config", line.configPath, options.configPath);
  if (line.runtimeDir !== (options.runtimeDir ?? "")) {
    throw elsewhere("--runtime-dir", line.runtimeDir, options.runtimeDir);
  }
  if (line.cacheDir && line.cacheDir !== options.cache?.dir) {
    throw elsewhere("--cache-dir", line.cacheDir, options.cache?.dir);
  }
  if (line.cacheDir && !(line.cacheTries >= 1 && line.cacheTries <= 999 && line.cacheMaxAgeMs > 0)) {
    throw bad("--cache-tries or --cache-max-age");
  }
  return {
    timeoutSeconds: line.timeoutMs / 1000,
    requireGroups: line.requireGroups,
    cache: line.cacheDir ? { dir: line.cacheDir, maxAgeMs: line.cacheMaxAgeMs, tries: line.cacheTries } : undefined,
    outageWindowMs: line.outageWindowMs,
    runtimeDir: line.runtimeDir || undefined,
  };
}

function refuse(conn: BrokerConn, why: string): Promise<void> {
  return writeAll((bytes) => conn.write(bytes), encodeRefused(why)).catch(() => {});
}
