// logfmt lines on stderr. pam_exec discards them unless its line has `log=FILE`; run by hand, they show.
// Callers pass only named fields; there is no field through which a secret could travel.
export const LOG_LEVELS = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"] as const;
export type LogLevel = typeof LOG_LEVELS[number];
export const DEFAULT_LOG_LEVEL: LogLevel = "INFO";
export const LOG_LEVEL_ENV = "NETAUTH_LOGLEVEL";

export type LogValue = string | number | boolean | undefined;
export type LogFields = Record<string, LogValue>;

export function parseLogLevel(raw: string): LogLevel | undefined {
  const upper = raw.trim().toUpperCase();
  return (LOG_LEVELS as readonly string[]).includes(upper) ? upper as LogLevel : undefined;
}

/** A value as logfmt writes it: bare when safe, else quoted with escapes. */
export function logfmtValue(value: Exclude<LogValue, undefined>): string {
  const text = String(value);
  if (text !== "" && /^[A-Za-z0-9_.:/@+,-]+$/.test(text)) return text;
  // Control characters from a hostile PAM_USER or PAM_RHOST must not forge lines.
  // deno-lint-ignore no-control-regex -- control characters are exactly what is matched
  const escaped = text.replace(/[\\"\u0000-\u001f\u007f]/g, (c) => {
    if (c === "\\" || c === '"') return `\\${c}`;
    if (c === "\n") return "\\n";
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
  });
  return `"${escaped}"`;
}

export function formatLine(level: LogLevel, msg: string, fields: LogFields): string {
  const parts = [`level=${level.toLowerCase()}`, `msg=${logfmtValue(msg)}`];
  for (const [key, value] of Object.entries(fields)) {
    if (value !== undefined) parts.push(`${key}=${logfmtValue(value)}`);
  }
  return parts.join(" ");
}

export interface Logger {
  readonly level: LogLevel;
  enabled(level: LogLevel): boolean;
  log(level: LogLevel, msg: string, fields?: LogFields): void;
}

export function createLogger(level: LogLevel, write: (line: string) => void = writeStderr): Logger {
  const threshold = LOG_LEVELS.indexOf(level);
  const enabled = (l: LogLevel) => LOG_LEVELS.indexOf(l) >= threshold;
  return {
    level,
    enabled,
    log(l, msg, fields = {}) {
      if (enabled(l)) write(formatLine(l, msg, fields));
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
