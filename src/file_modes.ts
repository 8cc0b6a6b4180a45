/**
 * Strict modes, as sshd's StrictModes: whoever can change the config, the certificate or a
 * directory above them can change what the helper trusts (turn on tls.pwn_me, swap the root).
 * So each of them must be owned by root (or the user running the helper) and writable by no one
 * else. One walk for those and for the cache directory, whose own rule is stricter.
 *
 * Inside the sandbox lstat is refused (NotCapable) above the read grant: the walk stops there
 * without complaint. install.sh's --print-flags step reads everything, so there the same walk
 * covers the whole chain up to "/".
 *
 * @module
 */
import { dirname, trimSlashes } from "./paths.ts";

/** The file-system calls the walk makes; tests pass a fake tree. */
export interface Fs {
  /** Inspects a path without following a link. */
  lstat(path: string): Promise<Deno.FileInfo>;
  /** Follows links: used only for a link whose target the sandbox hides from lstat. */
  stat(path: string): Promise<Deno.FileInfo>;
  /** A link's target. */
  readLink(path: string): Promise<string>;
}

const denoFs: Fs = {
  lstat: (path) => Deno.lstat(path),
  stat: (path) => Deno.stat(path),
  readLink: (path) => Deno.readLink(path),
};

/** The part of a file's metadata the owner/mode rules read. */
export type Info = Pick<Deno.FileInfo, "uid" | "mode" | "isDirectory" | "isSymlink">;

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
}

/** Symbolic links followed before giving up, as the kernel's own limit. */
const MAX_LINKS = 40;

/** Permission bits in octal without a leading zero, like "755". */
export const octal = (info: Info): string => ((info.mode ?? 0) & 0o7777).toString(8);

/** Permission bits in octal with a leading zero, like "0755" (manifest.json, `install.sh --verify`). */
export function octalMode(mode: number | null): string {
  return `0${((mode ?? 0) & 0o7777).toString(8).padStart(3, "0")}`;
}

/** Checks `path` and every directory above it, as far as this process may look. */
export async function walkModes(path: string, options: WalkOptions): Promise<WalkResult> {
  const start = trimSlashes(path.replace(/\/+/g, "/"));
  if (!start.startsWith("/")) return { state: "unsafe", path, reason: "is not an absolute path", above: false };
  const walk = new Walk(options);
  const result = await walk.visit(start, "leaf");
  if (result === "outside") return { state: "outside" };
  return result ?? { state: "ok", checked: walk.checked };
}

/** What sits below a directory on the path decides whether a sticky bit makes it safe. */
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
      if (err instanceof Deno.errors.NotFound && role === "leaf") return { state: "missing" };
      return { state: "unsafe", path, reason: `cannot be checked (${(err as Error).name})`, above: false };
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
    if (above === "outside") return undefined; // the sandbox's limit, not a problem
    return above?.state === "unsafe" ? { ...above, above: true } : above;
  }

  /** A link must be ours or root's, and what it points to must pass in its place. */
  private async followLink(path: string, info: Info, role: Role): Promise<Found> {
    const owner = this.ownerProblem(info);
    if (owner) return unsafe(path, info, owner);
    if (++this.links > MAX_LINKS) return unsafe(path, info, "leads through too many symbolic links");
    try {
      const link = await this.fs.readLink(path);
      const target = (link.startsWith("/") ? link : `${dirname(path)}/${link}`).replace(/\/+/g, "/");
      const found = await this.visit(target, role);
      // The sandbox grants the link's path, not the target's: judge the target through the link.
      return found === "outside" ? this.judge(target, await this.fs.stat(path), role) : found;
    } catch (err) {
      if (err instanceof Deno.errors.NotFound && role === "leaf") return { state: "missing" };
      return { state: "unsafe", path, reason: `cannot be checked (${(err as Error).name})`, above: false };
    }
  }

  private judge(path: string, info: Info, role: Role): Found {
    const why = strictProblem(info, this.options.uid, role === "above-directory");
    if (why) return unsafe(path, info, why);
    this.checked.push({ path, info });
    return undefined;
  }

  private ownerProblem(info: Info): string | undefined {
    return ownerProblem(info, this.options.uid);
  }
}

/**
 * The strict rule for one file or directory: owned by root (or `uid`, the running user; null
 * when only root will do) and writable by no one else. `aboveDirectory`: it holds a directory
 * the walk checks next, where a sticky bit suffices.
 */
export function strictProblem(info: Info, uid: number | null, aboveDirectory = false): string | undefined {
  const owner = ownerProblem(info, uid);
  if (owner) return owner;
  // A sticky directory (like /tmp) lets others add names but not rename or remove ours. That
  // suffices above a directory, whose owner the walk checks next (a name planted there first
  // is the planter's, and refused). A file could instead be someone's hard link, so not there.
  const sticky = ((info.mode ?? 0) & 0o1000) !== 0 && aboveDirectory;
  if (((info.mode ?? 0) & 0o022) !== 0 && !sticky) return "is writable by group or others";
  return undefined;
}

function ownerProblem(info: Info, uid: number | null): string | undefined {
  if (info.uid === 0 || (uid !== null && info.uid === uid)) return undefined;
  return uid === null || uid === 0 ? "is not owned by root" : `is owned neither by root nor by uid ${uid}`;
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
