/**
 * Strict modes, as sshd's StrictModes: whoever can change the config, the certificate or a
 * directory above them can change what the helper trusts (turn on tls.pwn_me, swap the root).
 * So each of them must be owned by root (or the user running the helper) and writable by no one
 * else. This module holds that rule once, and the walk that applies it to a path as the kernel
 * resolves it: the path as written, component by component, with lstat. A symbolic link on the way
 * must itself be root's, in a directory only root can change (sticky or not: whoever can write
 * there may have planted the name first), and its target is walked the same way.
 *
 * Inside the sandbox lstat is refused (NotCapable) above the read grant: the walk stops there,
 * and since it cannot see who owns a link up there, the granted path must be its own real path.
 * install.sh and --verify read everything, so there the same walk covers the whole chain to "/".
 *
 * @module
 */
import type { DirEntry } from "./manifest_format.ts";
import { dirname, trimSlashes } from "./paths.ts";

/** The file-system calls the walk makes; tests pass a fake tree. */
export interface Fs {
  /** Inspects a path without following a link. */
  lstat(path: string): Promise<Deno.FileInfo>;
  /** Follows links: used only for a link whose target the sandbox hides from lstat. */
  stat(path: string): Promise<Deno.FileInfo>;
  /** A link's target. */
  readLink(path: string): Promise<string>;
  /** Used only where the sandbox hides the directories above: is the path its own real path? */
  realPath(path: string): Promise<string>;
}

/** The real file system. */
export const denoFs: Fs = {
  lstat: (path) => Deno.lstat(path),
  stat: (path) => Deno.stat(path),
  readLink: (path) => Deno.readLink(path),
  realPath: (path) => Deno.realPath(path),
};

/** The part of a file's metadata the owner/mode rules read. */
export type Info = Pick<Deno.FileInfo, "uid" | "mode" | "isDirectory" | "isSymlink"> & { gid?: number | null };

/** How a walk ended: every component fine, the path absent or hidden, or the first unsafe component. */
export type WalkResult =
  | { state: "ok"; checked: Checked[] }
  /** The path itself does not exist, or the sandbox refuses it: the caller's read says so better. */
  | { state: "missing" | "outside" }
  /** `above`: found on a directory above the path rather than on the path (or its link target). */
  | { state: "unsafe"; path: string; reason: string; above: boolean };

/** A component the walk looked at (links resolved), nearest the file first. */
export interface Checked {
  /** The component's absolute path. */
  path: string;
  /** Its owner and mode. */
  info: Info;
}

/** Who may own the path, and how to look. */
export interface WalkOptions {
  /** The running user; null when unknown (then only root will do). */
  uid: number | null;
  /** The file system to walk; Deno's by default. */
  fs?: Fs;
  /**
   * A rule for the path itself instead of the shared one (the cache directory's: ours, 0700);
   * with it, a link at the path is judged as it is, not followed.
   */
  leafRule?: (info: Info) => string | undefined;
  /** A path install.sh will create: what is missing is skipped, what exists on the way is walked. */
  absentOk?: boolean;
  /**
   * Only for the log's walk (src/install/log_dir.ts): a root-owned directory on the way that its group, and no
   * one else, may write is accepted when this says nothing against that group (given its gid).
   */
  groupWrite?: (gid: number | null) => string | undefined;
}

/** Symbolic links followed before giving up, as the kernel's own limit. */
const MAX_LINKS = 40;

/** Permission bits in octal without a leading zero, like "755". */
export const octal = (info: Info): string => ((info.mode ?? 0) & 0o7777).toString(8);

/** Permission bits in octal with a leading zero, like "0755" (manifest.json, `install.sh --verify`). */
export function octalMode(mode: number | null): string {
  return `0${((mode ?? 0) & 0o7777).toString(8).padStart(3, "0")}`;
}

/** "/a//b/./c/" as "/a/b/c": spellings the kernel reads alike ("..", which a link changes, stays). */
export function normalizePath(path: string): string {
  return trimSlashes(path.replace(/\/+/g, "/").replace(/(\/\.)+(\/|$)/g, "/"));
}

/** Checks `path` as written and every directory above it, as far as this process may look. */
export async function walkModes(path: string, options: WalkOptions): Promise<WalkResult> {
  const start = normalizePath(path);
  if (!start.startsWith("/")) return { state: "unsafe", path, reason: "is not an absolute path", above: false };
  const walk = new Walk(options);
  const result = await walk.visit(start, "leaf");
  if (result === "outside") return { state: "outside" };
  return result ?? { state: "ok", checked: walk.checked };
}

/**
 * What sits below a directory on the path decides whether a sticky bit makes it safe: it does
 * above a directory (whose owner the walk checks next), not above a file or a symbolic link.
 */
type Role = "leaf" | "above-directory" | "above-other";
type Found = WalkResult | "outside" | undefined;

class Walk {
  readonly checked: Checked[] = [];
  private links = 0;
  private readonly fs: Fs;

  constructor(private readonly options: WalkOptions) {
    this.fs = options.fs ?? denoFs;
  }

  async visit(path: string, role: Role): Promise<Found> {
    let info: Deno.FileInfo;
    try {
      info = await this.fs.lstat(path);
    } catch (err) {
      if (err instanceof Deno.errors.NotCapable) return "outside";
      if (err instanceof Deno.errors.NotFound && this.options.absentOk) {
        return path === "/" ? undefined : await this.visit(dirname(path), "above-directory");
      }
      if (err instanceof Deno.errors.NotFound && role === "leaf") return { state: "missing" };
      return cannotCheck(path, err);
    }
    if (role === "leaf" && this.options.leafRule) {
      const why = this.options.leafRule(info);
      if (why) return { state: "unsafe", path, reason: why, above: false };
      this.checked.push({ path, info });
    } else if (info.isSymlink) {
      const found = await this.followLink(path, info, role);
      if (found) return found;
    } else {
      const found = this.judge(path, info, role);
      if (found) return found;
    }
    if (path === "/") return undefined;
    const above = await this.visit(dirname(path), info.isDirectory ? "above-directory" : "above-other");
    if (above === "outside") return info.isSymlink ? undefined : await this.ownRealPath(path);
    return above?.state === "unsafe" ? { ...above, above: true } : above;
  }

  /** A link must be ours or root's, and what it points to must pass in its place. */
  private async followLink(path: string, info: Info, role: Role): Promise<Found> {
    const owner = ownerProblem(info, this.options.uid);
    if (owner) return unsafe(path, info, `is a symbolic link and ${owner}`);
    if (++this.links > MAX_LINKS) return unsafe(path, info, "leads through too many symbolic links");
    try {
      const link = await this.fs.readLink(path);
      const target = link.startsWith("/") ? normalizePath(link) : await this.relativeTarget(dirname(path), link);
      const found = await this.visit(target, role);
      // The sandbox grants the link's path, not the target's: judge the target through the link.
      return found === "outside" ? this.judge(target, await this.fs.stat(path), role) : found;
    } catch (err) {
      if (err instanceof Deno.errors.NotFound && role === "leaf") return { state: "missing" };
      return cannotCheck(path, err);
    }
  }

  /**
   * A relative link read from `dir`: its leading ".." climb from the real directory, as the kernel's
   * do (the rest stays as written and is walked). Without leave to ask, `dir` as written.
   */
  private async relativeTarget(dir: string, link: string): Promise<string> {
    let base = await this.fs.realPath(dir).catch(() => dir);
    let rest = normalizePath(`/${link}`).slice(1);
    for (; rest === ".." || rest.startsWith("../"); rest = rest.slice(3)) base = dirname(base);
    return normalizePath(rest ? `${base}/${rest}` : base);
  }

  /** At the sandbox's limit: a link above, whose owner cannot be seen from here, is refused. */
  private async ownRealPath(path: string): Promise<Found> {
    try {
      const real = await this.fs.realPath(path);
      if (real === path) return undefined;
      return {
        state: "unsafe",
        path,
        reason: `is reached through a symbolic link (its real path is ${real}), which the sandbox cannot inspect`,
        above: false,
      };
    } catch (err) {
      return cannotCheck(path, err);
    }
  }

  private judge(path: string, info: Info, role: Role): Found {
    const why = this.options.groupWrite && onlyGroupWrites(info)
      ? this.options.groupWrite(info.gid ?? null)
      : strictProblem(info, this.options.uid, role === "above-directory");
    if (why) return unsafe(path, info, why);
    this.checked.push({ path, info });
    return undefined;
  }
}

/** A root-owned directory that its group may write and others may not (Ubuntu's /var/log, root:syslog 0775). */
export function onlyGroupWrites(info: Info): boolean {
  return info.isDirectory && info.uid === 0 && ((info.mode ?? 0) & 0o022) === 0o020;
}

function cannotCheck(path: string, err: unknown): WalkResult {
  return { state: "unsafe", path, reason: `cannot be checked (${(err as Error).name})`, above: false };
}

/**
 * The strict rule for one file or directory: owned by root (or `uid`, the running user; null
 * when only root will do) and writable by no one else. `aboveDirectory`: it holds a directory
 * the walk checks next, where a sticky bit suffices.
 */
export function strictProblem(info: Info, uid: number | null, aboveDirectory = false): string | undefined {
  return ownerProblem(info, uid) ?? writableProblem(info, aboveDirectory);
}

/** The owner half of the strict rule: root, or `uid` when it is not null. */
export function ownerProblem(info: Info, uid: number | null): string | undefined {
  if (info.uid === 0 || (uid !== null && info.uid === uid)) return undefined;
  return uid === null || uid === 0 ? "is not owned by root" : `is owned neither by root nor by uid ${uid}`;
}

/**
 * The mode half: writable by no one but the owner. A sticky directory (like /tmp) lets others add
 * names but not rename or remove ours: that suffices above a directory, whose owner is checked
 * next (a name planted there first is the planter's, and refused), never above a file (someone's
 * hard link) or a link. A link's own mode means nothing: its directory decides who can replace it.
 */
export function writableProblem(info: Info, aboveDirectory = false): string | undefined {
  if (info.isSymlink) return undefined;
  const sticky = ((info.mode ?? 0) & 0o1000) !== 0 && aboveDirectory;
  return ((info.mode ?? 0) & 0o022) !== 0 && !sticky ? "is writable by group or others" : undefined;
}

function unsafe(path: string, info: Info, why: string): WalkResult {
  return { state: "unsafe", path, reason: withOwnerAndMode(info, why), above: false };
}

/** A problem as the walk words it: `is not owned by root (owner uid 1000, mode 755)`. */
export function withOwnerAndMode(info: Info, why: string): string {
  return `${why} (owner uid ${info.uid}, mode ${octal(info)})`;
}

/** The first checked component that keeps other users from reading the file, if any. */
export function closedToOthers(checked: Checked[]): string | undefined {
  for (const { path, info } of checked) {
    const mode = info.mode ?? 0;
    if (info.isDirectory && (mode & 0o001) === 0) {
      return `${path} is not searchable by other users (mode ${octal(info)})`;
    }
    if (!info.isDirectory && (mode & 0o004) === 0) {
      return `${path} is not readable by other users (mode ${octal(info)})`;
    }
  }
  return undefined;
}

/** The running user's uid, or null when this process may not ask (install.sh runs as root). */
export function runningUid(): number | null {
  try {
    return Deno.uid();
  } catch {
    return null;
  }
}

const STRICT_RULE = "what the helper trusts, and every directory above it, " +
  "must be owned by root and writable by no one else";

/** Why the helper must not trust `path`, or undefined (a missing file is left to the read). */
export async function trustProblem(path: string, fs: Fs = denoFs, uid = runningUid()): Promise<string | undefined> {
  const result = await walkModes(path, { uid, fs });
  return result.state === "unsafe" ? `unsafe permissions: ${result.path} ${result.reason}: ${STRICT_RULE}` : undefined;
}

/** For --check: why other users (a screen locker runs the helper as one) cannot read `path`. */
export async function hiddenFromOthers(
  path: string,
  fs: Fs = denoFs,
  uid = runningUid(),
): Promise<string | undefined> {
  const result = await walkModes(path, { uid, fs });
  return result.state === "ok" ? closedToOthers(result.checked) : undefined;
}

/**
 * The manifest's entry for `path` from its lstat: owner, group and permission bits as recorded. Here, not in
 * manifest_format.ts: that module must stay import-free, or the bundler hoists its shared runtime (with a
 * `node:module` import) into a chunk the login's entry loads (tests/integration/reproducible_test.ts).
 */
export function dirEntry(path: string, info: Deno.FileInfo): DirEntry {
  return { path, uid: info.uid ?? -1, gid: info.gid ?? -1, mode: octalMode(info.mode) };
}
