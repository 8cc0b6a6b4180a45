/**
 * What `--check --user NAME` needs from the host and the helper's sandbox may not read: `/etc/passwd`, the NSS
 * entries (`getent`), the shape of the shadow entry, and the PAM service files. The launcher gathers them outside the
 * sandbox, for that command alone, and writes them to the helper's stdin (`HOST_FACTS_SH`); `parseHostFacts` reads
 * them back. The shadow entry's password field never leaves the launcher: only its shape does (`!`, `*`, `!HASH`,
 * `HASH` or empty), so no hash reaches the helper.
 *
 * @module
 */

/** The most `--check --user` reads from stdin: a large /etc/passwd and every PAM file fit many times over. */
export const MAX_FACTS_BYTES = 8 * 1024 * 1024;

/** The first line of the facts; another version is refused. */
const MAGIC = "@netauth-host-facts 1";

/** One `getent` answer: its exit status and the entry it printed (status 2: no such entry). */
export interface Lookup {
  /** getent's exit status. */
  status: number;
  /** The entry, when it printed one. */
  line?: string;
}

/** What the launcher saw for one name. */
export interface HostFacts {
  /** The name the launcher looked up (it must be the one `--user` gave the helper). */
  user: string;
  /** The launcher's effective uid: the shadow database is root's to read. */
  euid: number;
  /** `/etc/passwd` as it is, the file `pam_localuser` reads; undefined when unreadable. */
  passwdFile?: string;
  /** `getent passwd NAME`: what sshd and login see through NSS. */
  passwd: Lookup;
  /** `getent shadow NAME`, its password field reduced to its shape (module doc). */
  shadow: Lookup;
  /** The PAM service files (/etc/pam.d/*, /usr/lib/pam.d/*) by path. */
  pamFiles: Map<string, string>;
}

/**
 * The launcher's side, as sh: `host_facts NAME` prints the facts for NAME. It runs only for `--check --user`, as
 * whoever ran the command; it names each program by its absolute path and reads nothing the caller chose but NAME,
 * which it refuses unless it is an entity ID (src/pam_request.ts's rule: letters, digits, `.`, `_`, `@`, `-`).
 */
export const HOST_FACTS_SH = `host_facts() {
  printf '%s\\n' '${MAGIC}' "@euid $euid"
  case $1 in '' | [.-]* | *[!A-Za-z0-9._@-]*) return 0 ;; esac
  printf '@user %s\\n' "$1"
  [ -r /etc/passwd ] && printf '@passwd-file\\n' && /usr/bin/sed 's/^/ /' /etc/passwd
  entry=$(/usr/bin/getent passwd "$1")
  printf '@getent-passwd %s\\n %s\\n' "$?" "$entry"
  entry=$(/usr/bin/getent shadow "$1")
  status=$?
  # name:password:rest; the password becomes its shape: the leading run of ! and *, then HASH if anything follows.
  rest=\${entry#*:}
  pw=\${rest%%:*}
  rest=\${rest#*:}
  lead=\${pw%%[!!*]*}
  [ "$pw" = "$lead" ] || lead=\${lead}HASH
  [ -n "$entry" ] && entry="$1:$lead:$rest"
  printf '@getent-shadow %s\\n %s\\n' "$status" "$entry"
  for file in /etc/pam.d/* /usr/lib/pam.d/*; do
    [ -f "$file" ] && [ -r "$file" ] && printf '@file %s\\n' "$file" && /usr/bin/sed 's/^/ /' "$file"
  done
  return 0
}`;

/** Why the facts on stdin cannot be used; the message is one line. */
export class FactsError extends Error {
  /** `message`: what was wrong, for the `host:` line. */
  constructor(message: string) {
    super(message);
    this.name = "FactsError";
  }
}

/**
 * The facts the launcher wrote, checked: the magic line first, sections that begin with `@`, their lines indented
 * by one space. Throws a FactsError for anything else.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const facts = parseHostFacts(
 *   "@netauth-host-facts 1\n@euid 0\n@user alice\n@getent-passwd 2\n \n@getent-shadow 2\n \n",
 * );
 * assert.equal(facts.user, "alice");
 * assert.equal(facts.passwd.status, 2);
 * assert.equal(facts.passwd.line, undefined);
 * ```
 */
export function parseHostFacts(text: string): HostFacts {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  if (lines[0] !== MAGIC) throw new FactsError("stdin does not hold the launcher's host facts");
  const sections: { head: string; body: string[] }[] = [];
  for (const line of lines.slice(1)) {
    if (line.startsWith("@")) sections.push({ head: line.slice(1), body: [] });
    else if (line.startsWith(" ") && sections.length > 0) sections.at(-1)!.body.push(line.slice(1));
    else throw new FactsError(`unexpected line in the host facts: "${line.slice(0, 40)}"`);
  }
  let user: string | undefined, euid: number | undefined, passwdFile: string | undefined;
  const lookups: Record<string, Lookup> = {};
  const pamFiles = new Map<string, string>();
  for (const { head, body } of sections) {
    const [key, ...rest] = head.split(" ");
    const value = rest.join(" ");
    if (key === "euid" && /^\d+$/.test(value)) euid = Number(value);
    else if (key === "user") user = value;
    else if (key === "passwd-file") passwdFile = body.join("\n");
    else if ((key === "getent-passwd" || key === "getent-shadow") && /^\d+$/.test(value)) {
      lookups[key] = { status: Number(value), line: body[0] ? body[0] : undefined };
    } else if (key === "file" && value.startsWith("/")) pamFiles.set(value, body.join("\n") + "\n");
    else throw new FactsError(`unexpected section in the host facts: "@${head.slice(0, 40)}"`);
  }
  if (euid === undefined) throw new FactsError("the host facts do not say the launcher's uid");
  if (user === undefined) throw new FactsError("the launcher looked up no name (not an entity ID?)");
  const missing = { status: -1 };
  return {
    user,
    euid,
    passwdFile,
    passwd: lookups["getent-passwd"] ?? missing,
    shadow: lookups["getent-shadow"] ?? missing,
    pamFiles,
  };
}

/**
 * The facts from `stream` (stdin), read until it ends, at most MAX_FACTS_BYTES and until the wall clock reaches
 * `untilMs`; a FactsError past either.
 */
export async function readHostFacts(stream: ReadableStream<Uint8Array>, untilMs: number): Promise<HostFacts> {
  const reader = stream.getReader();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    reader.cancel().catch(() => {});
  }, Math.max(0, untilMs - Date.now()));
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > MAX_FACTS_BYTES) throw new FactsError(`the host facts exceed ${MAX_FACTS_BYTES} bytes`);
      chunks.push(value);
    }
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
  }
  if (timedOut) throw new FactsError("stdin did not end before the deadline (--timeout)");
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) (bytes.set(chunk, at), at += chunk.length);
  return parseHostFacts(new TextDecoder().decode(bytes));
}
