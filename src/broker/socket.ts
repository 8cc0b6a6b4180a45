/**
 * Where the broker's socket lives and when it may be trusted: in a directory root's alone (0700,
 * under the install's runtime directory), itself root's, a socket and not a symbolic link. Only
 * callers whose effective uid is root reach it; anything else means the direct path.
 *
 * @module
 */
import { dirname } from "../paths.ts";

/** The socket below the install's runtime directory (install.sh --broker bakes this path in). */
export function brokerSocketFor(runtimeDir: string): string {
  return `${runtimeDir}/broker/socket`;
}

/**
 * The variables systemd's socket activation sets (sd_listen_fds(3)): which process the sockets are for and how many
 * there are. Only `--serve` reads them: the launcher passes them to it alone, and only a sandbox with a socket grants them.
 */
export const ACTIVATION_ENV: readonly string[] = ["LISTEN_PID", "LISTEN_FDS"];

/** Deno.lstat, or a test's stand-in. */
export type Lstat = (path: string) => Promise<Deno.FileInfo>;

/** Why a path must not be used: `untrusted` when something is there that root did not put there (a warning). */
export interface SocketProblem {
  /** The path and what is wrong with it, for the decision line. */
  why: string;
  /** Something is there that root did not put there. */
  untrusted: boolean;
  /** Nothing is there at all (no broker on this host, or stopped): the direct path, without a word on the decision line. */
  absent?: boolean;
}

/** What is wrong with the directory that must hold the socket, or undefined when it is root's alone. */
export async function socketDirProblem(socket: string, lstat: Lstat = Deno.lstat): Promise<SocketProblem | undefined> {
  const dir = dirname(socket);
  const info = await lstat(dir).catch((err) => err as Error);
  const untrusted = (why: string) => ({ why: `${dir} ${why}`, untrusted: true });
  if (info instanceof Error) return reachProblem(dir, info);
  if (!info.isDirectory) return untrusted("is not a directory");
  if (info.uid !== 0) return untrusted(`is owned by uid ${info.uid}, not root`);
  if ((info.mode ?? 0o777) & 0o077) return untrusted(`has mode ${((info.mode ?? 0) & 0o777).toString(8)}, not 700`);
  return undefined;
}

/** Why the socket must not be used, or undefined when it may (checked before every connect). */
export async function socketProblem(socket: string, lstat: Lstat = Deno.lstat): Promise<SocketProblem | undefined> {
  const dirWhy = await socketDirProblem(socket, lstat);
  if (dirWhy) return dirWhy;
  const info = await lstat(socket).catch((err) => err as Error);
  const untrusted = (why: string) => ({ why: `${socket} ${why}`, untrusted: true });
  if (info instanceof Error) return reachProblem(socket, info);
  if (info.isSymlink) return untrusted("is a symbolic link");
  if (!info.isSocket) return untrusted("is not a socket");
  if (info.uid !== 0) return untrusted(`is owned by uid ${info.uid}, not root`);
  return undefined;
}

function reachProblem(path: string, err: Error): SocketProblem {
  const absent = err instanceof Deno.errors.NotFound;
  return { why: `${path} ${unreachable(err)}`, untrusted: false, ...(absent ? { absent } : {}) };
}

function unreachable(err: Error): string {
  if (err instanceof Deno.errors.NotFound) return "does not exist";
  // An unprivileged caller (a screen locker) cannot look inside root's 0700 directory: expected.
  if (err instanceof Deno.errors.PermissionDenied) return "not reachable (permission denied: not root)";
  if (err instanceof Deno.errors.NotCapable) return "not reachable (outside this helper's sandbox)";
  return `not reachable (${err.name})`;
}

/** Closes a connection to the socket (or nothing) that may be closed already: the peer may have gone first. */
export function closeQuietly(conn: { close(): void } | undefined): void {
  try {
    conn?.close();
  } catch {
    // closed already
  }
}
