/**
 * logfmt lines on stderr. pam_exec discards them unless its line has `log=FILE`; run by hand, they show.
 * Callers pass only named fields; there is no field through which a secret could travel.
 *
 * @module
 */

/** The levels, lowest first. */
export const LOG_LEVELS = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"] as const;

/** A log level, like `WARN`. */
export type LogLevel = typeof LOG_LEVELS[number];
/** The level without `--log-level` or NETAUTH_LOGLEVEL. */
export const DEFAULT_LOG_LEVEL: LogLevel = "INFO";
/** The environment variable that sets the level when `--log-level` is not given. */
export const LOG_LEVEL_ENV = "NETAUTH_LOGLEVEL";

/** A field's value; undefined fields are left out of the line. */
export type LogValue = string | number | boolean | undefined;
/** A line's named fields. */
export type LogFields = Record<string, LogValue>;

/** The level `raw` names, in any case; undefined when it names none. */
export function parseLogLevel(raw: string): LogLevel | undefined {
  const upper = raw.trim().toUpperCase();
  return (LOG_LEVELS as readonly string[]).includes(upper) ? upper as LogLevel : undefined;
}

/**
 * The level `NETAUTH_LOGLEVEL` asks for, honoured only when it adds detail: the variable comes from the
 * PAM environment, which users can influence, and must not hide the decision lines of failed guesses.
 */
export function levelFromEnvironment(raw: string | undefined): LogLevel | undefined {
  const level = parseLogLevel(raw ?? "");
  return level && LOG_LEVELS.indexOf(level) <= LOG_LEVELS.indexOf(DEFAULT_LOG_LEVEL) ? level : undefined;
}

/**
 * A value as logfmt writes it: bare when safe, else quoted with escapes. The result is printable
 * ASCII only, so no reader can see a line break or a bidi override in it: U+2028/2029 and U+0085
 * split lines in JavaScript and some log viewers, U+202E reverses what follows on screen. Each
 * UTF-16 code unit outside printable ASCII becomes `\uXXXX` (astral characters as two), as JSON
 * writes them: `JSON.parse` of a quoted value gives the original back.
 */
export function logfmtValue(value: Exclude<LogValue, undefined>): string {
  const text = String(value);
  if (text !== "" && /^[A-Za-z0-9_.:/@+,-]+$/.test(text)) return text;
  const escaped = text.replace(/[\\"]|[^\x20-\x7e]/g, (c) => {
    if (c === "\\" || c === '"') return `\\${c}`;
    return c === "\n" ? "\\n" : unicodeEscape(c);
  });
  return `"${escaped}"`;
}

/** Text for ASCII-only places (gRPC metadata): outside printable ASCII, `\uXXXX` as in the log. */
export function asciiOnly(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, unicodeEscape);
}

function unicodeEscape(c: string): string {
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

/** One logfmt line: `level=... msg=...` and the defined fields, every value quoted and escaped as needed. */
export function formatLine(level: LogLevel, msg: string, fields: LogFields): string {
  const parts = [`level=${level.toLowerCase()}`, `msg=${logfmtValue(msg)}`];
  for (const [key, value] of Object.entries(fields)) {
    if (value !== undefined) parts.push(`${key}=${logfmtValue(value)}`);
  }
  return parts.join(" ");
}

/** Where a run's log lines go. */
export interface Logger {
  /** Writes one line if `level` is enabled. */
  log(level: LogLevel, msg: string, fields?: LogFields): void;
  /**
   * Fields every later line starts with: the request's, once known. The deadline timer and the
   * internal-error path log from main.ts, far from the request, and must name it all the same.
   */
  bind(fields: LogFields): void;
}

/** A logger that writes lines at `level` and above (to stderr by default). */
export function createLogger(level: LogLevel, write: (line: string) => void = writeStderr): Logger {
  const threshold = LOG_LEVELS.indexOf(level);
  const enabled = (l: LogLevel) => LOG_LEVELS.indexOf(l) >= threshold;
  let bound: LogFields = {};
  return {
    log(l, msg, fields = {}) {
      if (enabled(l)) write(formatLine(l, msg, { ...bound, ...fields }));
    },
    bind(fields) {
      bound = { ...fields };
    },
  };
}

const encoder = new TextEncoder();
function writeStderr(line: string): void {
  try {
    let data = encoder.encode(line + "\n");
    while (data.length > 0) data = data.subarray(Deno.stderr.writeSync(data));
  } catch {
    // stderr closed by the caller: logging must never change the verdict.
  }
}
