// Command-line parsing: turns argv into options, or a HelperError(3) naming what was wrong.
import { parseArgs } from "node:util";
import { Exit, HelperError } from "./exit_codes.ts";
import { LOG_LEVELS, type LogLevel, parseLogLevel } from "./log.ts";

export const DEFAULT_CONFIG = "/etc/netauth/config.toml";
export const DEFAULT_TIMEOUT_SECONDS = 10;
/** A login that waits longer than this is broken, whatever the admin asked for. */
export const MAX_TIMEOUT_SECONDS = 300;

export type Command = "run" | "check" | "audit" | "version" | "help";

export interface Options {
  command: Command;
  configPath: string;
  timeoutSeconds: number;
  requireGroups: string[];
  logLevel?: LogLevel;
}

export const USAGE =
  `usage: netauth-pam-helper [--config PATH] [--timeout SECONDS] [--require-group NAME]... [--log-level LEVEL]
       netauth-pam-helper --check | --audit | --version | --help`;

const GROUP_NAME = /^[A-Za-z0-9._@-]{1,128}$/;

function usageError(message: string): HelperError {
  return new HelperError(Exit.SERVICE_ERR, "bad_arguments", `${message} (try --help)`);
}

export function parseCommandLine(argv: string[]): Options {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        config: { type: "string" },
        timeout: { type: "string" },
        "require-group": { type: "string", multiple: true },
        "log-level": { type: "string" },
        check: { type: "boolean" },
        audit: { type: "boolean" },
        version: { type: "boolean" },
        help: { type: "boolean" },
      },
    });
  } catch (err) {
    // node:util errors are multi-line; keep the first line, which names the option.
    throw usageError(String((err as Error).message).split("\n")[0]);
  }
  const v = parsed.values;
  const commands = (["check", "audit", "version", "help"] as const).filter((c) => v[c]);
  if (commands.length > 1) {
    throw usageError(`--${commands.join(" and --")} cannot be combined`);
  }
  const configPath = v.config ?? DEFAULT_CONFIG;
  if (configPath === "" || !configPath.startsWith("/")) {
    throw usageError(`--config must be an absolute path, got "${configPath}"`);
  }
  return {
    command: commands[0] ?? "run",
    configPath,
    timeoutSeconds: parseTimeout(v.timeout),
    requireGroups: (v["require-group"] ?? []).map(parseGroupName),
    logLevel: v["log-level"] === undefined ? undefined : parseLevelOption(v["log-level"]),
  };
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
