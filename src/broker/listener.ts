/**
 * Where `--serve` takes its connections from: the socket systemd passes (socket activation, sd_listen_fds(3):
 * `LISTEN_PID` is this process, `LISTEN_FDS=1`, the socket is fd 3), or, under any other supervisor, one it
 * creates itself at --broker-socket. Either way serve.ts gets the same accept loop: connections to read,
 * write and close.
 *
 * @module
 */
import { HelperError } from "../errors.ts";
import { Exit } from "../exit_codes.ts";
import { socketProblem } from "./socket.ts";

/** The first descriptor systemd passes (SD_LISTEN_FDS_START). */
export const SYSTEMD_FD = 3;

/** One helper's connection, as serve.ts uses it (a Deno.Conn is one). */
export interface BrokerConn {
  /** Up to `into.length` bytes, or null at the end. */
  read(into: Uint8Array): Promise<number | null>;
  /** Writes the bytes; how many were taken. */
  write(bytes: Uint8Array): Promise<number>;
  /** Closes it; never throws. */
  close(): void;
}

/** The connections as they come, until close(). */
export interface BrokerListener extends AsyncIterable<BrokerConn> {
  /** Whether systemd holds the socket: the broker then neither creates nor removes it. */
  readonly activated: boolean;
  /** Stops accepting; a socket the broker created is removed. */
  close(): void;
}

/** Reads an environment variable; undefined when unset. */
export type GetEnv = (name: string) => string | undefined;

function activationError(why: string): HelperError {
  return new HelperError(Exit.SERVICE_ERR, "bad_install", `socket activation: ${why}`);
}

/**
 * Whether systemd passed this process its socket. Neither variable set: no (the broker listens itself). Either set
 * but not for exactly one socket for this very process: an error, since the socket it would create is systemd's.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * const env = (vars: Record<string, string>) => (name: string) => vars[name];
 * assert.equal(passedBySystemd(env({}), 42), false);
 * assert.equal(passedBySystemd(env({ LISTEN_PID: "42", LISTEN_FDS: "1" }), 42), true);
 * assert.throws(() => passedBySystemd(env({ LISTEN_PID: "41", LISTEN_FDS: "1" }), 42), /not this process/);
 * assert.throws(() => passedBySystemd(env({ LISTEN_PID: "42", LISTEN_FDS: "2" }), 42), /exactly one socket/);
 * ```
 */
export function passedBySystemd(getEnv: GetEnv, pid: number): boolean {
  const forPid = getEnv("LISTEN_PID");
  const count = getEnv("LISTEN_FDS");
  if (forPid === undefined && count === undefined) return false;
  if (forPid !== String(pid)) {
    throw activationError(
      `LISTEN_PID is ${forPid ?? "unset"}, not this process (${pid}): ExecStart= must exec the broker, not fork it`,
    );
  }
  if (count !== "1") {
    throw activationError(`LISTEN_FDS is ${count ?? "unset"}: the broker takes exactly one socket (one ListenStream=)`);
  }
  return true;
}

/**
 * The broker's listener on `socket`: systemd's when it passed one (the path must then hold root's socket in root's
 * 0700 directory: the socket unit's ListenStream= and the baked --broker-socket must agree), else a new one (a stale
 * socket file is removed first; a live broker there, or anything but a socket, is an error).
 */
export async function openListener(socket: string, getEnv: GetEnv, pid = Deno.pid): Promise<BrokerListener> {
  if (passedBySystemd(getEnv, pid)) {
    const problem = await socketProblem(socket);
    if (problem) throw activationError(`no socket systemd made at --broker-socket: ${problem.why}`);
    return await adoptSystemdSocket();
  }
  await clearStaleSocket(socket);
  const listener = Deno.listen({ transport: "unix", path: socket });
  await Deno.chmod(socket, 0o600);
  return {
    activated: false,
    close() {
      listener.close();
      try {
        Deno.removeSync(socket);
      } catch {
        // gone already
      }
    },
    async *[Symbol.asyncIterator]() {
      try {
        for await (const conn of listener) yield conn;
      } catch (err) {
        if (!(err instanceof Deno.errors.BadResource)) throw err; // closed under the loop: the end
      }
    },
  };
}

/** A socket file left by a broker that died is removed; a live broker, or anything but a socket, is an error. */
async function clearStaleSocket(socket: string): Promise<void> {
  const info = await Deno.lstat(socket).catch(() => undefined);
  if (!info) return;
  const taken = (why: string) => new HelperError(Exit.SERVICE_ERR, "bad_install", `${socket} ${why}`);
  if (!info.isSocket) throw taken("exists and is not a socket: remove it");
  const live = await Deno.connect({ transport: "unix", path: socket }).then((c) => (c.close(), true), () => false);
  if (live) throw taken("has a broker listening already");
  await Deno.remove(socket);
}

/**
 * fd 3 through node:net (Deno.listen cannot take a descriptor). It needs no Deno permission: the socket is open
 * already. node refuses a descriptor that is not a stream socket (EINVAL); a TCP one has an address, a unix one not.
 */
async function adoptSystemdSocket(): Promise<BrokerListener> {
  const net = await import("node:net");
  const server = net.createServer();
  const conns = new ConnQueue();
  server.on("connection", (socket) => conns.push(nodeConn(socket)));
  await new Promise<void>((resolve, reject) => {
    server.once(
      "error",
      (err: NodeJS.ErrnoException) =>
        reject(activationError(`fd ${SYSTEMD_FD} is not a listening stream socket (${err.code ?? err.message})`)),
    );
    server.once("listening", resolve);
    server.listen({ fd: SYSTEMD_FD });
  });
  server.removeAllListeners("error");
  server.on("error", () => {}); // a failed accept costs that helper its fast path, not the broker
  if (server.address() !== null) {
    server.close();
    throw activationError(`fd ${SYSTEMD_FD} is a network socket, not a unix one (ListenStream= must be a path)`);
  }
  return {
    activated: true,
    close() {
      server.close();
      conns.end();
    },
    [Symbol.asyncIterator]: () => conns.drain(),
  };
}

/** Connections accepted by node, handed to the accept loop in order. */
class ConnQueue {
  #waiting: BrokerConn[] = [];
  #ended = false;
  #wake: (() => void) | undefined;

  push(conn: BrokerConn): void {
    if (this.#ended) return conn.close();
    this.#waiting.push(conn);
    this.#notify();
  }

  end(): void {
    this.#ended = true;
    this.#notify();
  }

  async *drain(): AsyncGenerator<BrokerConn> {
    while (true) {
      const next = this.#waiting.shift();
      if (next) yield next;
      else if (this.#ended) return;
      else await new Promise<void>((resolve) => this.#wake = resolve);
    }
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

/**
 * A node socket as a BrokerConn: reads come from its chunks (each zeroed once copied out: one may hold the
 * password), and a peer that hung up reads as the end and writes as Deno's BrokenPipe, as on Deno's own listener.
 */
function nodeConn(socket: import("node:net").Socket): BrokerConn {
  const chunks: Uint8Array[] = [];
  let ended = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    const waiting = wake;
    wake = undefined;
    waiting?.();
  };
  socket.on("data", (chunk: Uint8Array) => {
    chunks.push(chunk);
    socket.pause(); // one chunk at a time: a helper sends one frame
    notify();
  });
  socket.on("end", () => (ended = true, notify()));
  socket.on("close", () => (ended = true, notify()));
  socket.on("error", (err: NodeJS.ErrnoException) => (failure = denoError(err), notify()));
  return {
    async read(into) {
      while (chunks.length === 0 && !ended && !failure) await new Promise<void>((resolve) => wake = resolve);
      const chunk = chunks[0];
      if (!chunk) {
        if (failure) throw failure;
        return null;
      }
      const n = Math.min(into.length, chunk.length);
      into.set(chunk.subarray(0, n));
      chunk.fill(0, 0, n);
      if (n < chunk.length) chunks[0] = chunk.subarray(n);
      else if (chunks.shift() && chunks.length === 0) socket.resume();
      return n;
    },
    write(bytes) {
      if (failure || socket.destroyed) return Promise.reject(failure ?? new Deno.errors.BrokenPipe("closed"));
      return new Promise((resolve, reject) =>
        socket.write(bytes, (err) => err ? reject(denoError(err as NodeJS.ErrnoException)) : resolve(bytes.length))
      );
    },
    close() {
      socket.destroy();
    },
  };
}

function denoError(err: NodeJS.ErrnoException): Error {
  if (err.code === "ECONNRESET") return new Deno.errors.ConnectionReset(err.message);
  if (err.code === "EPIPE" || err.code === "ERR_STREAM_DESTROYED") return new Deno.errors.BrokenPipe(err.message);
  return err;
}
