/**
 * Following the outage record through one call: `begin` picks the full try or the short probe
 * (and claims the window's one full try under the record's lock), `settle` records a failed full
 * try or clears the record on any answer from NetAuth. A record that cannot be read, locked or
 * written never changes a verdict: the call then makes the full try, and the failure is logged.
 *
 * @module
 */
import { REAL_TRY_MS, realTryBudget } from "../deadline.ts";
import type { LogFields, Logger } from "../log.ts";
import { type NetAuthClient, NetAuthError } from "../netauth/client.ts";
import { type Attempt, attemptFor, type OutagePhase, type OutageRecord, type OutageStore } from "./record.ts";

/**
 * NetAuth's share of a call while the record is fresh, connect and TLS included (docs/configuration.md, "Outages"). With
 * start-up and the cache's scrypt check a probing call ends within about 1.2 s (bench: "outage").
 */
export const PROBE_MS: number = REAL_TRY_MS; // a probe is the shortest real try: its failure may count as an outage
/** Waiting for the record's lock never costs a login more than this; past it, the call makes the full try. */
const LOCK_WAIT_MS = 300;

/**
 * The phase of a failure that counts as an outage, or undefined when it does not: only `unavailable` with a
 * transport failure the client classed (netauth/client.ts), and not TLS refusing the server (a misconfiguration).
 */
export function outagePhase(err: NetAuthError): OutagePhase | undefined {
  if (err.kind !== "unavailable" || !err.transport || err.transport.tlsRejected) return undefined;
  return err.transport.phase;
}

/** What a gate needs: the record's store, the window, a clock (tests inject one) and the run's logger. */
export interface OutageGateOptions {
  /** Where the record lives. */
  store: OutageStore;
  /** `--outage-window` in ms. */
  windowMs: number;
  /** The time, ms since epoch. */
  now: () => number;
  /** Where the gate's own failures are logged. */
  logger: Logger;
}

/** One call's view of the outage record: which attempt it makes and what it leaves behind. */
export class OutageGate {
  private attempt: Attempt = "full";
  private record: OutageRecord | undefined;
  private cleared = false;
  /** What the client saw: an answer from NetAuth, or the phase of a transport failure. */
  private seen: { answered: boolean; phase?: OutagePhase } = { answered: false };

  /** A gate for one call; it reads nothing until `begin`. */
  constructor(private readonly options: OutageGateOptions) {}

  /**
   * NetAuth's deadline for this call: `fullDeadline`, or a probe's when the record is fresh. Either still holds a
   * real try once the record was read and claimed, or this throws no_time (deadline.ts realTryBudget): waiting for
   * the record's lock must never leave a short call whose failure the cache would answer for.
   */
  async begin(fullDeadline: number): Promise<number> {
    const { store, windowMs, now } = this.options;
    this.record = await this.guard("read", () => store.read());
    if (attemptFor(this.record, now(), windowMs) === "probe") this.attempt = "probe";
    else if (this.record) await this.guard("claim", () => this.claimFullTry());
    const at = now(); // after the lock: its wait comes out of no try
    const due = this.attempt === "probe" ? Math.min(fullDeadline, at + PROBE_MS) : fullDeadline;
    realTryBudget(due, at);
    return due;
  }

  /** The client, watched: any reply or refusal is NetAuth answering; a transport failure has a phase. */
  watch(client: NetAuthClient): NetAuthClient {
    const observe = <T>(call: Promise<T>): Promise<T> =>
      call.then((value) => {
        this.seen.answered = true;
        return value;
      }, (err) => {
        if (err instanceof NetAuthError) {
          const phase = outagePhase(err);
          if (phase) this.seen.phase ??= phase;
          else if (err.kind !== "unavailable") this.seen.answered = true;
        }
        throw err;
      });
    return {
      authEntity: (entity, secret) => observe(client.authEntity(entity, secret)),
      entityInfo: (entity) => observe(client.entityInfo(entity)),
      entityGroups: (entity) => observe(client.entityGroups(entity)),
      groupExists: (name) => observe(client.groupExists(name)),
      ping: () => observe(client.ping()),
      status: () => observe(client.status()),
      close: () => client.close(),
    };
  }

  /** After the decision: records a failed full try, or clears the record once NetAuth answered. */
  async settle(): Promise<void> {
    const { answered, phase } = this.seen;
    if (answered) await this.guard("clear", () => this.clear());
    else if (phase && this.attempt === "full") await this.guard("write", () => this.recordFailure(phase));
  }

  /** `outage=recorded since=… attempt=…` while a record stands, `outage=cleared` when this call ended it. */
  fields(): LogFields {
    if (this.cleared) return { outage: "cleared" };
    if (!this.record) return {};
    return { outage: "recorded", since: new Date(this.record.since).toISOString(), attempt: this.attempt };
  }

  /** Under the lock, a record still due gets now as its last full try; one claimed meanwhile makes this call probe. */
  private async claimFullTry(): Promise<void> {
    await this.locked(async () => {
      const current = await this.options.store.read();
      const now = this.options.now(); // read under the lock: never before a parallel call's claim
      this.record = current;
      if (attemptFor(current, now, this.options.windowMs) === "probe") this.attempt = "probe";
      else if (current) await this.options.store.write({ ...current, fullTryAt: now });
    });
  }

  /** Under the lock: the outage recorded with this failure's phase, its start kept if one is there. */
  private async recordFailure(phase: OutagePhase): Promise<void> {
    const at = this.options.now();
    await this.locked(async () => {
      // A parallel call may have recorded the same outage: keep its start.
      const current = await this.options.store.read();
      this.record = { since: current?.since ?? at, phase, fullTryAt: current?.fullTryAt ?? at };
      await this.options.store.write(this.record);
    });
  }

  /** Removes the record under the lock, when there is one. */
  private async clear(): Promise<void> {
    // Healthy logins pay one failed read here, never a lock file.
    if (!this.record && !(await this.options.store.read())) return;
    await this.locked(() => this.options.store.remove());
    this.record = undefined;
    this.cleared = true;
  }

  /** Runs `work` holding the record's lock; throws when it stays busy for LOCK_WAIT_MS. */
  private async locked(work: () => Promise<void>): Promise<void> {
    const release = await this.options.store.lock(Date.now() + LOCK_WAIT_MS); // real time: lock.ts waits in it
    if (!release) throw new Error("outage record busy");
    try {
      await work();
    } finally {
      release();
    }
  }

  /** Runs `work`; a failure is logged and leaves the call on the full try. */
  private async guard<T>(step: string, work: () => Promise<T>): Promise<T | undefined> {
    try {
      return await work();
    } catch (err) {
      // A caller without access (a screen locker running as the user) cannot follow the record: no news.
      const noAccess = err instanceof Deno.errors.PermissionDenied || err instanceof Deno.errors.NotCapable;
      const level = step === "read" && noAccess ? "DEBUG" : "WARN";
      this.options.logger.log(level, `outage record not ${step === "read" ? "read" : "updated"}`, {
        record: this.options.store.path,
        error: String((err as Error)?.message ?? err).split("\n")[0],
      });
      if (step === "read" || step === "claim") this.attempt = "full";
      return undefined;
    }
  }
}
