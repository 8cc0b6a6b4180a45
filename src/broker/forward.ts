/**
 * The helper's fast path: hand a checked PAM request to the warm broker and take its decision.
 * Anything short of a well-formed decision (no socket, an untrusted one, a refusal, a stall, a
 * malformed reply, a broker gone mid-request) is a fallback with a reason: the login goes direct.
 * Loads no gRPC and no node: module (tests/integration/reproducible_test.ts walks the bundle).
 *
 * @module
 */
import { EXIT_CODES, type ExitCode } from "../exit_codes.ts";
import type { PamRequest } from "../pam_request.ts";
import type { LoginOptions } from "../login_options.ts";
import {
  type BrokerLine,
  type BrokerReply,
  decodeFrame,
  encodeRequest,
  type Frame,
  ProtocolError,
  readFrame,
  writeAll,
} from "./protocol.ts";
import { closeQuietly, socketProblem } from "./socket.ts";

/**
 * How long a broker that took the connection has to greet, counted in this process's timer ticks (longer
 * on a loaded host, see withinBudget), and never more than half of what is left of the deadline. A
 * connection accepted means a broker is there: under systemd the socket is held for a broker still
 * starting (~0.3 s on a quiet host, seconds in a storm), and a login that gives up on it pays about
 * 200 ms of CPU for the direct path just when the host can least afford it (docs/broker.md).
 */
export const GREETING_BUDGET_MS = 2000;

/**
 * The broker's decision (`answered`), or why the login goes direct (`untrusted`: worth a warning; `absent`: no socket
 * at all, as on a host without a broker, not worth a word on the decision line).
 */
export type Forwarded =
  | ({ answered: true; exit: ExitCode } & Omit<BrokerReply, "exit">)
  | { answered: false; why: string; untrusted?: boolean; absent?: boolean };

/** What forwardToBroker needs. */
export interface ForwardOptions {
  /** The socket path (--broker-socket). */
  socket: string;
  /** The PAM request, after the helper's local checks. */
  request: PamRequest;
  /** The password for auth; the caller zeroes it (the frame copy is zeroed here). */
  secret: Uint8Array | undefined;
  /** The PAM line's options: the broker applies them, or refuses and the login goes direct. */
  options: LoginOptions & { configPath: string };
  /** The helper's deadline (ms since epoch): the broker is told how much of it is left. */
  deadline: number;
  /** How long the greeting may take (default GREETING_BUDGET_MS). */
  budgetMs?: number;
}

const TIMED_OUT = Symbol("timed out");

/** Asks the broker; never throws for anything the broker or its socket does. */
export async function forwardToBroker(options: ForwardOptions): Promise<Forwarded> {
  const fallback = (why: string): Forwarded => ({ answered: false, why });
  const { request } = options;
  const halfLeft = Math.max(0, (options.deadline - Date.now()) / 2);
  const greeted = await greetBroker(options.socket, options.budgetMs ?? GREETING_BUDGET_MS, halfLeft);
  if (!("conn" in greeted)) return { answered: false, ...greeted };
  const conn = greeted.conn;
  let frame: Uint8Array | undefined;
  try {
    frame = encodeRequest({
      type: request.type,
      remainingMs: options.deadline - Date.now(),
      user: request.entity,
      service: request.service,
      rhost: request.rhost ?? "",
      ruser: request.ruser ?? "",
      tty: request.tty ?? "",
      line: brokerLine(options.options),
      secret: options.secret ?? new Uint8Array(),
    });
    await writeAll((bytes) => conn.write(bytes), frame);
    frame.fill(0);
    // No timer of its own here: the broker answers within the deadline sent, and main.ts's deadline timer backs that.
    const reply = await nextFrame(conn);
    if (reply?.kind === "refused") return fallback(`broker refused: ${reply.reason}`);
    if (reply?.kind !== "reply") return fallback(reply ? `broker sent a ${reply.kind} frame` : "broker closed early");
    return checkedReply(reply.reply, request) ?? fallback("malformed reply: exit code and outcome disagree");
  } catch (err) {
    // Before a frame exists only encodeRequest can throw: the request itself breaks the protocol's bounds.
    if (!frame && err instanceof ProtocolError) return fallback(`request too large for the broker: ${err.message}`);
    if (!frame) throw err; // our bug, not the broker's: main.ts's one internal-error line
    if (err instanceof ProtocolError) return fallback(`malformed reply: ${err.message}`);
    return fallback(`broker connection failed: ${(err as Error).name}`);
  } finally {
    frame?.fill(0);
    closeQuietly(conn);
  }
}

/** The line's options as the request carries them (protocol.ts BrokerLine). */
export function brokerLine(options: LoginOptions & { configPath: string }): BrokerLine {
  return {
    configPath: options.configPath,
    timeoutMs: Math.round(options.timeoutSeconds * 1000),
    requireGroups: options.requireGroups,
    cacheDir: options.cache?.dir ?? "",
    cacheMaxAgeMs: options.cache?.maxAgeMs ?? 0,
    cacheTries: options.cache?.tries ?? 0,
    outageWindowMs: options.outageWindowMs,
    runtimeDir: options.runtimeDir ?? "",
  };
}

/** A broker that has greeted (its connection, the caller closes it), or why there is none to use. */
export type Greeting = { conn: Deno.UnixConn; ms: number } | { why: string; untrusted?: boolean; absent?: boolean };

/**
 * Checks the socket, connects and takes the broker's greeting within `budgetMs` counted in this process's
 * timer ticks (see withinBudget) and `wallMs` of real time: forwardToBroker's first step, and --check's broker
 * line. Never throws.
 */
export async function greetBroker(
  socket: string,
  budgetMs = GREETING_BUDGET_MS,
  wallMs = Number.POSITIVE_INFINITY,
): Promise<Greeting> {
  const problem = await socketProblem(socket);
  if (problem) return problem;
  const started = performance.now();
  let conn: Deno.UnixConn | undefined;
  let abandoned = false;
  try {
    const greeting = await withinBudget(budgetMs, wallMs, async () => {
      const opened = await Deno.connect({ transport: "unix", path: socket });
      if (abandoned) opened.close();
      conn = opened;
      return await nextFrame(opened);
    });
    const why = greeting === TIMED_OUT
      ? `broker did not greet within ${Math.round(performance.now() - started)} ms`
      : greeting?.kind === "refused"
      ? `broker refused: ${greeting.reason}`
      : greeting?.kind !== "hello"
      ? "broker sent no greeting"
      : undefined;
    if (!why) return { conn: conn!, ms: Math.round(performance.now() - started) };
    abandoned = true;
    closeQuietly(conn);
    return { why };
  } catch (err) {
    abandoned = true;
    closeQuietly(conn);
    if (err instanceof ProtocolError) return { why: `malformed reply: ${err.message}` };
    if (err instanceof Deno.errors.ConnectionRefused) return { why: "stale socket: no broker listening" };
    return { why: `broker connection failed: ${(err as Error).name}` };
  }
}

/** The reply as a decision, or undefined when its exit code is unknown or a success does not fit the request. */
function checkedReply(reply: BrokerReply, request: PamRequest): Forwarded | undefined {
  const known = EXIT_CODES.find((info) => info.code === reply.exit);
  if (!known) return undefined;
  const success = request.type === "auth" ? "authenticated" : "permitted";
  if ((reply.exit === 0) !== (reply.outcome === success)) return undefined;
  return { answered: true, ...reply, exit: known.code };
}

function nextFrame(conn: Deno.UnixConn): Promise<Frame | undefined> {
  return readFrame((into) => conn.read(into)).then((body) => {
    if (!body) return undefined;
    try {
      return decodeFrame(body);
    } finally {
      body.fill(0);
    }
  });
}

/** How often the greeting budget is checked: each check lets a greeting that has arrived be read first. */
const TICK_MS = 10;

/** One tick. AbortSignal.timeout, not setTimeout: Deno's global timers load node:timers (~3 MiB, ~10 ms). */
function tick(): Promise<void> {
  return new Promise((resolve) => AbortSignal.timeout(TICK_MS).addEventListener("abort", () => resolve()));
}

/**
 * `work`, or TIMED_OUT once `budgetMs / TICK_MS` of this process's timer ticks have passed: each tick
 * counts as TICK_MS however late it comes. On a loaded host (a login storm) the helper waits
 * for a CPU, and so does the broker: counted in wall time, a greeting sent as soon as the broker could
 * would be missed, and the login would go direct at five times the cost just when the host can least pay it.
 */
async function withinBudget<T>(
  budgetMs: number,
  wallMs: number,
  work: () => Promise<T>,
): Promise<T | typeof TIMED_OUT> {
  const started = performance.now();
  const running = work();
  running.catch(() => {}); // a late failure after the budget ran out is not this run's concern
  let settled = false;
  const expired = (async (): Promise<typeof TIMED_OUT> => {
    for (let spent = 0; spent < budgetMs && !settled && performance.now() - started < wallMs; spent += TICK_MS) {
      await tick();
    }
    return TIMED_OUT;
  })();
  try {
    return await Promise.race([running, expired]);
  } finally {
    settled = true;
  }
}
