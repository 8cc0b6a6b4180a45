/**
 * Command-line parsing: turns argv into options, or a HelperError(3) naming what was wrong.
 *
 * @module
 */
import { parseLongOptions } from "./argv.ts";
import { isFlagPath, trimSlashes } from "./paths.ts";
import { Exit } from "./exit_codes.ts";
import { HelperError } from "./errors.ts";
import { LOG_LEVELS, type LogLevel, parseLogLevel } from "./log.ts";
import { ENTITY_ID } from "./pam_request.ts";

/** `--config`'s default: NetAuth's own client config. */
export const DEFAULT_CONFIG = "/etc/netauth/config.toml";
/** `--timeout`'s default, in seconds, for the whole run. */
export const DEFAULT_TIMEOUT_SECONDS = 10;
/** A login that waits longer than this is broken, whatever the admin asked for. */
export const MAX_TIMEOUT_SECONDS = 300;

/** What this run does: a PAM call (`run`), or one of the admin's commands. */
export type Command = "run" | "check" | "audit" | "serve" | "version" | "help";

/** The command line, checked, with its defaults filled in. */
export interface Options {
  /** What to do. */
  command: Command;
  /** The NetAuth config file. */
  configPath: string;
  /** The whole run's deadline, in seconds. */
  timeoutSeconds: number;
  /** The groups one of which the entity must be in (empty: no group check). */
  requireGroups: string[];
  /** `--log-level`; absent when not given (the environment or the default decides). */
  logLevel?: LogLevel;
  /** The offline cache, when enabled with --cache-dir. */
  cache?: { dir: string; maxAgeMs: number; tries: number };
  /** How long after a failed full try calls only probe NetAuth (docs/configuration.md, "Outages"). */
  outageWindowMs: number;
  /** The root-owned directory of the runtime's own files, baked in by install.sh (--check, --audit). */
  runtimeDir?: string;
  /** The warm broker's socket, baked in by `install.sh --broker` and the package's `--setup`: the fast path tries it,
   * `--serve` listens on it. */
  brokerSocket?: string;
  /** `--check --user NAME [--service SERVICE]`: what a login for NAME through SERVICE would meet. */
  checkUser?: { name: string; service: string };
}

/** `--service`'s default: the PAM service `--check --user` reads, sshd's. */
export const DEFAULT_CHECK_SERVICE = "sshd";

/** `--cache-max-age`'s default, as written on the command line. */
export const DEFAULT_CACHE_MAX_AGE = "7d";
/** `--cache-tries`' default. */
export const DEFAULT_CACHE_TRIES = 5;
/** `--outage-window`'s default (docs/configuration.md, "Outages"). */
export const DEFAULT_OUTAGE_WINDOW = "30s";

/** The usage lines `--help` and a usage error print. */
export const USAGE =
  `usage: netauth-pam-helper [--config PATH] [--timeout SECONDS] [--require-group NAME]... [--log-level LEVEL]
                          [--cache-dir DIR [--cache-max-age AGE] [--cache-tries N]] [--outage-window SPAN]
                          [--broker-socket PATH]
       netauth-pam-helper --check [--user NAME [--service SERVICE]] | --audit | --serve | --version | --help`;

/** What --require-group accepts; the broker checks forwarded groups against it again. */
export const GROUP_NAME = /^[A-Za-z0-9._@-]{1,128}$/;

function usageError(message: string): HelperError {
  return new HelperError(Exit.SERVICE_ERR, "bad_arguments", `${message} (try --help)`);
}

/**
 * The options `argv` holds (without the program name), checked; throws a HelperError (3) whose one-line message
 * names the bad argument.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const options = parseCommandLine(["--timeout", "5", "--require-group", "staff", "--require-group", "ops"]);
 * assert.deepEqual(options.requireGroups, ["staff", "ops"]);
 * assert.throws(() => parseCommandLine(["--timeout", "0"]), /--timeout expects seconds/);
 * ```
 */
export function parseCommandLine(argv: string[]): Options {
  let parsed;
  try {
    parsed = parseLongOptions(argv, {
      config: { type: "string" },
      timeout: { type: "string" },
      "require-group": { type: "string", multiple: true },
      "log-level": { type: "string" },
      "cache-dir": { type: "string" },
      "cache-max-age": { type: "string" },
      "cache-tries": { type: "string" },
      "outage-window": { type: "string" },
      "runtime-dir": { type: "string" },
      "broker-socket": { type: "string" },
      user: { type: "string" },
      service: { type: "string" },
      serve: { type: "boolean" },
      check: { type: "boolean" },
      audit: { type: "boolean" },
      version: { type: "boolean" },
      help: { type: "boolean" },
    });
  } catch (err) {
    throw usageError((err as Error).message);
  }
  const v = parsed;
  const commands = (["check", "audit", "serve", "version", "help"] as const).filter((c) => v[c]);
  if (commands.length > 1) {
    throw usageError(`--${commands.join(" and --")} cannot be combined`);
  }
  const configPath = v.config ?? DEFAULT_CONFIG;
  if (configPath === "" || !configPath.startsWith("/")) {
    throw usageError(`--config must be an absolute path, got "${configPath}"`);
  }
  const brokerSocket = v["broker-socket"] === undefined
    ? undefined
    : parseDirectory("--broker-socket", v["broker-socket"]);
  if (v.serve && !brokerSocket) throw usageError("--serve needs --broker-socket (install.sh --broker bakes it in)");
  if ((v.user !== undefined || v.service !== undefined) && !v.check) {
    throw usageError("--user and --service need --check");
  }
  if (v.service !== undefined && v.user === undefined) throw usageError("--service needs --user");
  return {
    command: commands[0] ?? "run",
    configPath,
    timeoutSeconds: parseTimeout(v.timeout),
    requireGroups: (v["require-group"] ?? []).map(parseGroupName),
    logLevel: v["log-level"] === undefined ? undefined : parseLevelOption(v["log-level"]),
    cache: parseCacheOptions(v["cache-dir"], v["cache-max-age"], v["cache-tries"]),
    outageWindowMs: parseOutageWindow(v["outage-window"] ?? DEFAULT_OUTAGE_WINDOW),
    runtimeDir: v["runtime-dir"] === undefined ? undefined : parseDirectory("--runtime-dir", v["runtime-dir"]),
    brokerSocket,
    checkUser: v.user === undefined ? undefined : {
      name: parseUserName(v.user),
      service: parseServiceName(v.service ?? DEFAULT_CHECK_SERVICE),
    },
  };
}

/** What --user accepts: an entity ID, the rule PAM_USER is held to. */
function parseUserName(raw: string): string {
  if (!ENTITY_ID.test(raw)) throw usageError(`--user expects an entity ID, got "${raw}"`);
  return raw;
}

/** A PAM service is a file name in /etc/pam.d. */
function parseServiceName(raw: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$/.test(raw)) {
    throw usageError(`--service expects a PAM service name (a file in /etc/pam.d), got "${raw}"`);
  }
  return raw;
}

function parseDirectory(option: string, dir: string): string {
  if (!isFlagPath(dir)) {
    throw usageError(`${option} expects an absolute path without commas or spaces, got "${dir}"`);
  }
  return trimSlashes(dir);
}

function parseCacheOptions(dir?: string, maxAge?: string, tries?: string): Options["cache"] {
  if (dir === undefined) {
    if (maxAge !== undefined || tries !== undefined) {
      throw usageError("--cache-max-age and --cache-tries need --cache-dir");
    }
    return undefined;
  }
  const cacheDir = parseDirectory("--cache-dir", dir);
  const maxAgeMs = parseDuration(maxAge ?? DEFAULT_CACHE_MAX_AGE);
  if (maxAgeMs === undefined) {
    throw usageError(`--cache-max-age expects a whole number with s, m, h, d or w (like 7d), got "${maxAge}"`);
  }
  const count = tries === undefined ? DEFAULT_CACHE_TRIES : /^\d{1,3}$/.test(tries) ? Number(tries) : NaN;
  if (!(count >= 1)) throw usageError(`--cache-tries expects a whole number from 1 to 999, got "${tries}"`);
  return { dir: cacheDir, maxAgeMs, tries: count };
}

/** At most an hour: a longer window would keep a recovered server unused for that long. */
function parseOutageWindow(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms > 3600e3) {
    throw usageError(`--outage-window expects a whole number with s, m or h, at most 1h (like 30s), got "${text}"`);
  }
  return ms;
}

const UNIT_MS: Record<string, number> = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 604800e3 };

/**
 * "90s", "15m", "12h", "7d", "2w" in milliseconds; undefined when malformed or zero.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(parseDuration("15m"), 900_000);
 * assert.equal(parseDuration("7d"), 604_800_000);
 * for (const bad of ["0s", "1.5h", "15", "15 m", "-1s"]) assert.equal(parseDuration(bad), undefined);
 * ```
 */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d{1,6})([smhdw])$/.exec(text);
  const ms = match ? Number(match[1]) * UNIT_MS[match[2]] : 0;
  return ms > 0 ? ms : undefined;
}

function parseTimeout(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_TIMEOUT_SECONDS;
  const seconds = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : NaN;
  if (!(seconds > 0 && seconds <= MAX_TIMEOUT_SECONDS)) {
    throw usageError(
      `--timeout expects seconds between 0 and ${MAX_TIMEOUT_SECONDS}, got "${raw}"`,
    );
  }
  return seconds;
}

function parseGroupName(raw: string): string {
  if (!GROUP_NAME.test(raw)) {
    throw usageError(`--require-group expects a NetAuth group name, got "${raw}"`);
  }
  return raw;
}

function parseLevelOption(raw: string): LogLevel {
  const level = parseLogLevel(raw);
  if (!level) {
    throw usageError(`--log-level expects one of ${LOG_LEVELS.join(", ")}, got "${raw}"`);
  }
  return level;
}
