/**
 * The broker vouching for the code it runs, and `--check` and `--verify` judging it. A broker is long-lived: the
 * files `--verify` hashes are what the next broker will run, not what this one runs. So the broker hashes its own
 * code once at start (artefact.ts, as `--audit` does) and tells anyone who asks (`ASK`, protocol.ts) what it
 * started from and when. A broker that started before the installed files last changed (their ctime, which no
 * user-space restore can set back), or from code other than the manifest's, is not the installed helper.
 * A broker's own word is only as good as its honesty: `--verify` also reads the kernel's view (verify_broker.ts).
 *
 * @module
 */
import { chunksOf, hashRunningCode } from "../artefact.ts";
import { sha256Hex } from "../digest.ts";
import type { Manifest } from "../manifest_format.ts";
import { MANIFEST_NAME } from "../manifest_format.ts";
import { VERSION } from "../version.ts";
import { type BrokerStatus, decodeFrame, encodeAsk, readFrame, writeAll } from "./protocol.ts";

/** What a broker must do when its word does not hold: restart from the installed files. */
export const RESTART_HINT = "restart it (systemctl restart netauth-pam-helper, or stop it and start it again)";

/**
 * One SHA-256 over the code's files, each as `SHA256  PATH` (sha256sum's form) in path order: the broker's `code`.
 * Empty when a file has no hash (it could not be read).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const a = await codeDigest([{ path: "/b.js", sha256: "11" }, { path: "/a.js", sha256: "22" }]);
 * assert.equal(a, await codeDigest([{ path: "/a.js", sha256: "22" }, { path: "/b.js", sha256: "11" }]));
 * assert.notEqual(a, await codeDigest([{ path: "/a.js", sha256: "23" }, { path: "/b.js", sha256: "11" }]));
 * assert.equal(await codeDigest([{ path: "/a.js" }]), "");
 * ```
 */
export async function codeDigest(files: { path: string; sha256?: string }[]): Promise<string> {
  if (files.some((file) => !file.sha256)) return "";
  const lines = [...files].sort((a, b) => a.path < b.path ? -1 : a.path > b.path ? 1 : 0)
    .map((file) => `${file.sha256}  ${file.path}\n`);
  return await sha256Hex(new TextEncoder().encode(lines.join("")));
}

/** The `code` a broker started from the installed files reports: the manifest's artefact and chunks. */
export function expectedCode(manifest: Pick<Manifest, "artefact" | "files" | "mode">): Promise<string> {
  const paths = [manifest.artefact, ...(manifest.mode === "bundle" ? chunksOf(manifest) : [])];
  return codeDigest(paths.map((path) => ({ path, sha256: manifest.files.find((f) => f.path === path)?.sha256 })));
}

/**
 * The broker's side, called once at its start: hashes its code now and gives back how to answer `ASK` (serve.ts
 * waits for it before it listens: the files are hashed before anyone could see the broker up and restore them).
 * Without an install directory (a broker run from source) it cannot tell, and says so.
 */
export function startStatus(installDir: string | undefined, started: number): () => Promise<BrokerStatus> {
  const startedMs = Math.round(started);
  const status = (async (): Promise<BrokerStatus> => {
    if (!installDir) return { version: VERSION, startedMs, code: "", problem: "not installed (no --runtime-dir)" };
    try {
      const { state, files } = await hashRunningCode(installDir);
      return { version: VERSION, startedMs, code: await codeDigest(files), problem: state.problem ?? "" };
    } catch (err) {
      return { version: VERSION, startedMs, code: "", problem: `cannot hash its code (${(err as Error).name})` };
    }
  })();
  return () => status;
}

/** Asks a broker that has greeted on `conn` what it started from; a refusal or anything else is `why`. */
export async function askStatus(conn: Deno.Conn): Promise<BrokerStatus | { why: string }> {
  try {
    await writeAll((bytes) => conn.write(bytes), encodeAsk());
    const body = await readFrame((into) => conn.read(into));
    if (!body) return { why: "it closed the connection" };
    const frame = decodeFrame(body);
    if (frame.kind === "status") return frame.status;
    return { why: frame.kind === "refused" ? `it refused: ${frame.reason}` : `it sent a ${frame.kind} frame` };
  } catch (err) {
    return { why: `${(err as Error).message.split("\n")[0]}` };
  }
}

/** Why the broker's own report says it is not the installed code, or undefined when it matches `expected`. */
export function statusProblem(status: BrokerStatus | { why: string }, expected: string): string | undefined {
  if ("why" in status) return `it does not say which code it runs (${status.why}; an older build?)`;
  if (status.problem) return `it found its code wrong at its start: ${status.problem}`;
  if (!status.code) return "it could not hash its code at its start";
  if (status.code !== expected) {
    return `it started from code other than the installed files (version ${status.version}, code ` +
      `${status.code.slice(0, 12)}…, the manifest's ${expected.slice(0, 12)}…): an older build, or files changed since`;
  }
  return undefined;
}

/** A file's change time (ctime), epoch ms. */
export interface Changed {
  /** The file. */
  path: string;
  /** Its ctime. */
  ctimeMs: number;
}

/**
 * The most recently changed file that changed more than `slackMs` after the broker started: it runs what the file
 * was before (or what it was while it was patched). Undefined when every file is older than the broker.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const files = [{ path: "/a.js", ctimeMs: 1000 }, { path: "/b.js", ctimeMs: 5000 }, { path: "/c.js", ctimeMs: 3000 }];
 * assert.equal(changedSince(2000, files, 20)?.path, "/b.js");
 * assert.equal(changedSince(5000, files, 20), undefined);
 * assert.equal(changedSince(4990, files, 20), undefined); // within the clocks' slack
 * ```
 */
export function changedSince(startedMs: number, files: Changed[], slackMs: number): Changed | undefined {
  const newest = files.reduce<Changed | undefined>((a, b) => (!a || b.ctimeMs > a.ctimeMs ? b : a), undefined);
  return newest && newest.ctimeMs > startedMs + slackMs ? newest : undefined;
}

/**
 * The files whose change means a broker must restart: what it runs (the artefact, its chunks, every executable the
 * manifest records: the launcher, bundle mode's deno) and the manifest it hashes them against at its start. Not the
 * man page, the unit or the PAM profile.
 */
export function brokerFiles(manifest: Pick<Manifest, "artefact" | "files">): string[] {
  const dir = manifest.artefact.slice(0, manifest.artefact.lastIndexOf("/"));
  const executable = manifest.files.filter((f) => (parseInt(f.mode, 8) & 0o111) !== 0).map((f) => f.path);
  return [...new Set([manifest.artefact, ...chunksOf(manifest), ...executable, `${dir}/${MANIFEST_NAME}`])];
}

/** ISO 8601 in UTC with milliseconds. */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * `--check`'s judgement of the broker that greeted on `conn` (inside the sandbox: its own report, and the ctimes
 * Deno gives, to the second): why it is not the installed helper and what to do, or undefined when its word holds.
 */
export async function vouchForBroker(conn: Deno.Conn, installDir: string): Promise<string | undefined> {
  const problem = await brokerProblem(conn, installDir);
  return problem && `${problem}: ${RESTART_HINT}`;
}

async function brokerProblem(conn: Deno.Conn, installDir: string): Promise<string | undefined> {
  const status = await askStatus(conn);
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await Deno.readTextFile(`${installDir}/${MANIFEST_NAME}`)) as Manifest;
  } catch (err) {
    return `${installDir}/${MANIFEST_NAME} cannot be read (${(err as Error).name}) to judge it`;
  }
  const problem = statusProblem(status, await expectedCode(manifest));
  if (problem || "why" in status) return problem;
  const ctimes: Changed[] = [];
  for (const path of brokerFiles(manifest)) {
    // Deno gives ctime in whole seconds: a file changed in a later second than the broker started is certain.
    const info = await Deno.stat(path).catch(() => undefined);
    if (info?.ctime) ctimes.push({ path, ctimeMs: info.ctime.getTime() });
  }
  const changed = changedSince(status.startedMs, ctimes, 0);
  return changed && `it started at ${iso(status.startedMs)}, before ${changed.path} changed (${iso(changed.ctimeMs)})`;
}
