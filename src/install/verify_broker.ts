/**
 * `--verify`'s checks of the broker that is listening, not only of the files it will start from next time. As root
 * and outside the sandbox, it finds every process holding a socket that listens on the install's path (by inode:
 * /proc/net/unix, then /proc/PID/fd) and judges each by the kernel's account: its executable and command line
 * against the manifest, and its start time against the installed files' change times (ctime: a file patched and
 * restored byte for byte keeps its hash, but not its ctime). Then it asks the broker which code it started from
 * (broker/vouch.ts): that catches a broker left running from an older build. One `broker` check each.
 *
 * @module
 */
import type { Manifest } from "../manifest_format.ts";
import { greetBroker } from "../broker/forward.ts";
import type { BrokerStatus } from "../broker/protocol.ts";
import {
  askStatus,
  brokerFiles,
  type Changed,
  changedSince,
  expectedCode,
  iso,
  RESTART_HINT,
  statusProblem,
} from "../broker/vouch.ts";
import { BUNDLE_RUN_OPTIONS } from "./install_plan.ts";
import type { Check } from "./verify_report.ts";

/** /proc's start time and uptime count in 10 ms ticks: a file changed within this of the start is not counted. */
export const START_SLACK_MS = 20;

/** How the probe reads the host; tests pass fakes. */
export interface BrokerProbe {
  /** Reads a /proc file as text. */
  readText: (path: string) => string;
  /** Reads a link (/proc/PID/exe, /proc/PID/fd/N). */
  readLink: (path: string) => string;
  /** Lists a directory's names. */
  list: (path: string) => string[];
  /** A path's real path. */
  realPath: (path: string) => string;
  /** Epoch ms now. */
  now: () => number;
  /** The files' change times, to the nanosecond where the host allows. */
  ctimes: (paths: string[]) => Promise<Changed[]>;
  /** What the broker on `socket` says it started from, or why it says nothing (no broker there, ...). */
  ask: (socket: string) => Promise<BrokerStatus | { why: string }>;
}

/**
 * The inodes of the sockets listening on `path`, from /proc/net/unix (`Num RefCount Protocol Flags Type St Inode
 * Path`; flag 0x10000 is listening).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const table = "Num       RefCount Protocol Flags    Type St Inode Path\n" +
 *   "0000000000000000: 00000002 00000000 00010000 0001 01 4242 /run/b/socket\n" +
 *   "0000000000000000: 00000003 00000000 00000000 0001 03 4343 /run/b/socket\n";
 * assert.deepEqual(listeningInodes(table, "/run/b/socket"), ["4242"]);
 * ```
 */
export function listeningInodes(procNetUnix: string, path: string): string[] {
  return procNetUnix.split("\n").slice(1).map((line) => line.trim().split(/\s+/)).filter((fields) =>
    fields.length >= 8 && fields.slice(7).join(" ") === path && (parseInt(fields[3], 16) & 0x10000) !== 0
  ).map((fields) => fields[6]);
}

/**
 * When a process started, in epoch ms, from its /proc/PID/stat (field 22: clock ticks since boot, 100 a second)
 * and /proc/uptime's seconds read at `nowMs`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const stat = "77 (deno run) S 1 77 77 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 150000 1000 100";
 * assert.equal(startedAt(stat, "2000.00 1500.00", 10_000_000), 10_000_000 - 500_000);
 * ```
 */
export function startedAt(stat: string, uptime: string, nowMs: number): number {
  const ticks = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
  const upMs = Math.round(Number(uptime.split(" ")[0]) * 1000);
  if (!Number.isSafeInteger(ticks) || !Number.isFinite(upMs)) throw new Error("unreadable start time");
  return nowMs - (upMs - ticks * 10);
}

/**
 * What is wrong with a broker's executable and command line (/proc/PID/exe, NUL-split cmdline) for this install:
 * it must run one of the install's executables (not a file replaced since: `(deleted)`), end with `--serve`, and
 * in bundle mode run the manifest's artefact with exactly the manifest's sandbox flags.
 */
export function commandProblem(
  exe: string,
  argv: string[],
  manifest: Pick<Manifest, "mode" | "artefact" | "sandbox" | "files">,
  executables: string[],
): string | undefined {
  if (exe.endsWith(" (deleted)")) return `runs ${exe}: a file replaced since it started`;
  if (!executables.includes(exe)) return `runs ${exe}, not the install's ${executables.join(" or ") || "runtime"}`;
  if (argv.at(-1) !== "--serve") return `its command line does not end with --serve: ${argv.join(" ")}`;
  if (manifest.mode !== "bundle") return undefined;
  const at = argv.indexOf(manifest.artefact);
  if (at < 1) return `does not run ${manifest.artefact}: ${argv.join(" ")}`;
  const known = new Set(["run", ...BUNDLE_RUN_OPTIONS, ...manifest.sandbox]);
  const extra = argv.slice(1, at).filter((word) => !known.has(word));
  const lacking = manifest.sandbox.filter((flag) => !argv.slice(1, at).includes(flag));
  if (extra.length > 0) return `runs with ${extra.join(" ")}, which the manifest's launcher does not give`;
  if (lacking.length > 0) return `runs without the manifest's ${lacking.join(" ")}`;
  return undefined;
}

/** The broker on `socket` (as installed; `destdir` for a staged tree) against the manifest: `broker` checks. */
export async function brokerChecks(
  socket: string,
  manifest: Manifest,
  destdir: string,
  probe: BrokerProbe = hostProbe,
): Promise<Check[]> {
  const path = `${destdir}${socket}`;
  const drift = (what: string): Check => ({ ok: false, what: `${what}: ${RESTART_HINT}` });
  // Asked first: under socket activation, the question starts the broker the rest then finds.
  const status = await probe.ask(path);
  let pids: string[];
  try {
    pids = holders(probe, path);
  } catch (err) {
    return [{ ok: false, what: `broker ${socket}: cannot look for the broker (/proc: ${(err as Error).name})` }];
  }
  if (pids.length === 0) {
    // Nothing here listens: a broker that answers anyway listens from another network namespace.
    if ("why" in status) return [{ ok: true, what: `broker ${socket}: no broker listening (logins go direct)` }];
    return [{ ok: false, what: `broker ${socket}: a broker answers, but no process here listens on it: stop it` }];
  }
  const checks: Check[] = [];
  const executables = manifest.files.filter((f) => (parseInt(f.mode, 8) & 0o111) !== 0).map((f) => {
    try {
      return probe.realPath(`${destdir}${f.path}`);
    } catch {
      return `${destdir}${f.path}`;
    }
  });
  const ctimes = await probe.ctimes(brokerFiles(manifest).map((file) => `${destdir}${file}`));
  for (const pid of pids) {
    const who = `broker PID ${pid}`;
    try {
      const exe = probe.readLink(`/proc/${pid}/exe`);
      const argv = probe.readText(`/proc/${pid}/cmdline`).split("\0").slice(0, -1);
      const wrong = commandProblem(exe, argv, manifest, executables);
      checks.push(wrong ? drift(`${who} command: ${wrong}`) : { ok: true, what: `${who} command: ${argv.join(" ")}` });
      const started = startedAt(probe.readText(`/proc/${pid}/stat`), probe.readText("/proc/uptime"), probe.now());
      const changed = changedSince(started, ctimes, START_SLACK_MS);
      checks.push(
        changed
          ? drift(`${who} started ${iso(started)}, before ${changed.path} changed (${iso(changed.ctimeMs)})`)
          : { ok: true, what: `${who} started ${iso(started)}, after its files last changed` },
      );
    } catch (err) {
      checks.push({ ok: false, what: `${who}: cannot be inspected (${(err as Error).name})` });
    }
  }
  const problem = statusProblem(status, await expectedCode(manifest));
  checks.push(
    problem ? drift(`broker ${socket} code: ${problem}`) : {
      ok: true,
      what: `broker ${socket} code: it started from the installed files (version ${(status as BrokerStatus).version})`,
    },
  );
  return checks;
}

/** The processes, but systemd holding it for socket activation, with a file descriptor on a socket listening on `path`. */
function holders(probe: BrokerProbe, path: string): string[] {
  const inodes = listeningInodes(probe.readText("/proc/net/unix"), path);
  if (inodes.length === 0) return [];
  const wanted = new Set(inodes.map((inode) => `socket:[${inode}]`));
  const found: string[] = [];
  for (const pid of probe.list("/proc").filter((name) => /^\d+$/.test(name))) {
    try {
      if (!probe.list(`/proc/${pid}/fd`).some((fd) => wanted.has(probe.readLink(`/proc/${pid}/fd/${fd}`)))) continue;
      if (/\/systemd$/.test(probe.readLink(`/proc/${pid}/exe`))) continue;
      found.push(pid);
    } catch { /* gone, or a file descriptor closed under us */ }
  }
  return found;
}

/**
 * The files' ctimes to the nanosecond from stat(1); Deno's (whole seconds, so a change in the broker's own second
 * goes uncounted) where it cannot run.
 */
async function statCtimes(paths: string[]): Promise<Changed[]> {
  try {
    const out = await new Deno.Command("/usr/bin/stat", { args: ["-c", "%.9Z %n", "--", ...paths], stderr: "null" })
      .output();
    const found = new TextDecoder().decode(out.stdout).split("\n").filter(Boolean).map((line) => {
      const space = line.indexOf(" ");
      return { path: line.slice(space + 1), ctimeMs: Number(line.slice(0, space)) * 1000 };
    });
    if (found.some((file) => !Number.isFinite(file.ctimeMs))) throw new Error("stat(1) without %.9Z");
    return found;
  } catch {
    return paths.flatMap((path) => {
      try {
        const ctime = Deno.lstatSync(path).ctime;
        return ctime ? [{ path, ctimeMs: ctime.getTime() }] : [];
      } catch {
        return []; // missing: its own file check says so
      }
    });
  }
}

async function askHost(socket: string): Promise<BrokerStatus | { why: string }> {
  const greeted = await greetBroker(socket);
  if (!("conn" in greeted)) return { why: greeted.why };
  try {
    return await askStatus(greeted.conn);
  } finally {
    greeted.conn.close();
  }
}

/** The host's /proc and files. */
export const hostProbe: BrokerProbe = {
  readText: (path) => Deno.readTextFileSync(path),
  readLink: (path) => Deno.readLinkSync(path),
  list: (path) => [...Deno.readDirSync(path)].map((entry) => entry.name),
  realPath: (path) => Deno.realPathSync(path),
  now: () => Date.now(),
  ctimes: statCtimes,
  ask: askHost,
};
