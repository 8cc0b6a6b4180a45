/**
 * PAM service files read as Linux-PAM reads them, for `--verify` and `--check --user`: a line that PAM runs must not
 * escape the check by its spelling. libpam joins a line ending in a backslash with the next line that
 * is not blank or a comment, cuts every line at its first "#", splits on blanks except that a word
 * starting with "[" runs to the first "]" ("\\]" inside is a "]"), compares types and the include and
 * substack controls without regard to case, and reads an included file's lines of that type only
 * (Debian's "@include" takes all of them). pam_exec takes its options without regard to case, up to the
 * first word that starts with "/" or that it does not know: that word is the command it runs.
 *
 * @module
 */
import { normalizePath } from "./file_modes.ts";

/** A pam_exec line that runs one of the install's executables, where PAM reads it. */
export interface PamLine {
  /** The service file, or the file an include led to. */
  file: string;
  /** Its line number (the first physical line of a continued one). */
  line: number;
  /** auth, account, session or password, lower case. */
  type: string;
  /** pam_exec's own options, before the command, as written. */
  options: string[];
  /** The command pam_exec runs, as written. */
  command: string;
}

/** Where an include names a file, and what it holds; undefined when it cannot be read (PAM fails that line). */
export interface PamSource {
  /** The path an include name resolves to: absolute as given, else in /etc/pam.d or /usr/lib/pam.d. */
  resolve(name: string): string | undefined;
  /** A file's text, or undefined when it cannot be read. */
  read(path: string): string | undefined;
  /** Whether `command` is one of the install's executables (`PamHost.targets`), however it is spelled. */
  runsHelper(command: string): boolean;
}

const TYPES = ["auth", "account", "session", "password"];
/** pam_exec's options (Linux-PAM's pam_exec.c); "log=" and "type=" take a value. */
const PAM_EXEC_OPTIONS = ["debug", "stdout", "seteuid", "quiet", "quiet_log", "expose_authtok"];
const PAM_EXEC_VALUED = ["log=", "type="];
/** Includes nested deeper than this are not followed (libpam stops substacks at 16). */
const MAX_INCLUDE_DEPTH = 16;

/** The lines PAM parses, each with the number of its first physical line. */
export function logicalLines(text: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  let pending: { line: number; text: string } | undefined;
  text.split("\n").forEach((physical, index) => {
    const trimmed = physical.trimStart();
    if (trimmed === "" || trimmed.startsWith("#")) return; // skipped, even inside a continuation
    const hash = physical.indexOf("#");
    let body = hash >= 0 ? physical.slice(0, hash) : physical;
    const continues = hash < 0 && /\\[ \t]*$/.test(body);
    if (continues) body = body.replace(/\\[ \t]*$/, " ");
    pending = pending ? { line: pending.line, text: pending.text + body } : { line: index + 1, text: body };
    if (!continues) {
      out.push(pending);
      pending = undefined;
    }
  });
  if (pending) out.push(pending);
  return out;
}

/** libpam's words: split on blanks; "[...]" is one word without its brackets, "\]" inside it a "]". */
export function pamTokens(line: string): string[] {
  const words: string[] = [];
  for (let i = 0; i < line.length;) {
    while (i < line.length && /[ \t\n]/.test(line[i])) i++;
    if (i >= line.length) break;
    if (line[i] === "[") {
      let word = "";
      for (i++; i < line.length && line[i] !== "]"; i++) {
        if (line[i] === "\\" && line[i + 1] === "]") i++;
        word += line[i];
      }
      words.push(word);
      i++; // past the "]", which also ends the word
    } else {
      const start = i;
      while (i < line.length && !/[ \t\n]/.test(line[i])) i++;
      words.push(line.slice(start, i));
    }
  }
  return words;
}

/** pam_exec's arguments split as pam_exec splits them: its options, then the command. */
export function pamExecArguments(args: string[]): { options: string[]; command?: string } {
  const known = (arg: string) => {
    const lower = arg.toLowerCase();
    return PAM_EXEC_OPTIONS.includes(lower) || PAM_EXEC_VALUED.some((prefix) => lower.startsWith(prefix));
  };
  const at = args.findIndex((arg) => arg.startsWith("/") || !known(arg));
  return at < 0 ? { options: args } : { options: args.slice(0, at), command: args[at] };
}

/** Whether pam_exec would take the option (it compares without regard to case). */
export function hasOption(options: string[], option: string): boolean {
  return options.some((given) => given.toLowerCase() === option);
}

/**
 * Every pam_exec line in `file` (and in what it includes) whose command `source.runsHelper` knows. `only`: the
 * type an include or substack line asked for; `seen`: the files on the way here, so a loop ends.
 */
export function pamExecLines(
  file: string,
  text: string,
  source: PamSource,
  context: { only?: string; seen?: string[] } = {},
): PamLine[] {
  const seen = [...(context.seen ?? []), file];
  const found: PamLine[] = [];
  for (const { line, text: logical } of logicalLines(text)) {
    const words = pamTokens(logical);
    if (words[0]?.toLowerCase() === "@include") {
      found.push(...included(words[1], source, { only: context.only, seen }));
      continue;
    }
    const type = (words[0] ?? "").replace(/^-/, "").toLowerCase();
    if (!TYPES.includes(type) || (context.only && type !== context.only)) continue;
    const control = (words[1] ?? "").toLowerCase();
    if (control === "include" || control === "substack") {
      found.push(...included(words[2], source, { only: type, seen }));
      continue;
    }
    const [module = "", ...args] = words.slice(2);
    if (!/(^|\/)pam_exec\.so$/.test(normalizePath(module))) continue;
    const { options, command } = pamExecArguments(args);
    if (command && source.runsHelper(command)) found.push({ file, line, type, options, command });
  }
  return found;
}

function included(name: string | undefined, source: PamSource, context: { only?: string; seen: string[] }) {
  const path = name ? source.resolve(name) : undefined;
  if (!path || context.seen.includes(path) || context.seen.length > MAX_INCLUDE_DEPTH) return [];
  const text = source.read(path);
  return text === undefined ? [] : pamExecLines(path, text, source, context);
}

/** Where --verify reads: the host's PAM files, or those below DESTDIR as if it were "/". */
export interface PamHost {
  /** `--destdir`, or "" for the host itself. */
  destdir: string;
  /** The service directory: DESTDIR/etc/pam.d. */
  pamDir: string;
  /** The install's executables as installed (launchers, artefact, deno): a command that is one runs the helper. */
  targets: string[];
  /** Reads a file (Deno's by default; tests pass a fake). */
  readText?: (path: string) => string;
  /** A path's real path (Deno's by default). */
  realPath?: (path: string) => string;
}

/** Includes resolved as libpam does, and a target recognised by its path or by its real path (a link to it). */
export function hostPamSource(host: PamHost): PamSource {
  const readText = host.readText ?? Deno.readTextFileSync;
  const realPath = host.realPath ?? Deno.realPathSync;
  const at = (path: string) => `${host.destdir}${path}`;
  const attempt = <T>(fn: () => T) => {
    try {
      return fn();
    } catch {
      return undefined;
    }
  };
  const read = (path: string) => attempt(() => readText(path));
  const real = (path: string) => attempt(() => realPath(at(path)));
  const realTargets = host.targets.map(real).filter((path) => path !== undefined);
  return {
    read,
    resolve: (name) =>
      name.startsWith("/")
        ? at(normalizePath(name))
        : [`${host.pamDir}/${name}`, at(`/usr/lib/pam.d/${name}`)].find((path) => read(path) !== undefined),
    runsHelper: (command) => {
      const path = normalizePath(command);
      if (host.targets.includes(path)) return true;
      const resolved = real(path);
      return resolved !== undefined && realTargets.includes(resolved);
    },
  };
}
