import assert from "node:assert/strict";
import { createLogger } from "../../src/log.ts";
import { NetAuthError } from "../../src/netauth/client.ts";
import { OutageGate, outagePhase, PROBE_MS } from "../../src/outage/gate.ts";
import { OutageStore, RECORD_FILE } from "../../src/outage/record.ts";
import { fakeNetAuth } from "../../testkit/fake_client.ts";

const WINDOW = 30_000;
const FULL = 10_000; // the full try's share of the deadline, from the call's start
const HUNG = "DEADLINE_EXCEEDED: Deadline exceeded after 9.9s,LB pick: 0.1s,remote_addr=127.0.0.1:1729";

/** One PAM call against `down` NetAuth at `now`: the deadline it got and the fields of its decision line. */
async function call(dir: string, now: number, down: string | undefined, logged: string[] = []) {
  const gate = new OutageGate({
    store: new OutageStore(dir),
    windowMs: WINDOW,
    now: () => now,
    logger: createLogger("INFO", (line) => logged.push(line)),
  });
  const deadline = await gate.begin(now + FULL);
  const client = gate.watch(
    down === undefined ? fakeNetAuth({ secrets: { alice: "pw" } }) : {
      ...fakeNetAuth({ secrets: { alice: "pw" } }),
      // How the client classes a call unanswered after the handshake (netauth/client.ts).
      entityInfo: () =>
        Promise.reject(new NetAuthError("unavailable", down, { phase: "rpc", unanswered: true, tlsRejected: false })),
    },
  );
  await client.entityInfo("alice").catch(() => {});
  await gate.settle();
  return { budget: deadline - now, fields: gate.fields() };
}

const withDir = (fn: (dir: string) => Promise<void>) => async () => {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
};

Deno.test(
  "hung, then in the window, then due, then recovered",
  withDir(async (dir) => {
    const t0 = Date.parse("2026-12-04T12:00:00Z");
    const since = new Date(t0).toISOString();
    assert.deepEqual(await call(dir, t0, HUNG), {
      budget: FULL,
      fields: { outage: "recorded", since, attempt: "full" },
    });
    assert.deepEqual(await call(dir, t0 + 1000, HUNG), {
      budget: PROBE_MS,
      fields: { outage: "recorded", since, attempt: "probe" },
    });
    // The window counts from the last full try; the next one keeps the outage's start.
    assert.deepEqual((await call(dir, t0 + WINDOW, HUNG)).budget, FULL);
    assert.deepEqual(await call(dir, t0 + WINDOW + 1, HUNG), {
      budget: PROBE_MS,
      fields: { outage: "recorded", since, attempt: "probe" },
    });
    assert.deepEqual(await new OutageStore(dir).read(), { since: t0, phase: "rpc", fullTryAt: t0 + WINDOW });
    // A probe that gets an answer ends the outage at once.
    assert.deepEqual(await call(dir, t0 + WINDOW + 2, undefined), { budget: PROBE_MS, fields: { outage: "cleared" } });
    assert.equal(await new OutageStore(dir).read(), undefined);
    assert.deepEqual(await call(dir, t0 + WINDOW + 3, HUNG), {
      budget: FULL,
      fields: { outage: "recorded", since: new Date(t0 + WINDOW + 3).toISOString(), attempt: "full" },
    });
  }),
);

Deno.test(
  "a failed probe leaves the record as it was",
  withDir(async (dir) => {
    const t0 = 1_000_000;
    await call(dir, t0, HUNG);
    const text = await Deno.readTextFile(`${dir}/${RECORD_FILE}`);
    await call(dir, t0 + 5, "UNAVAILABLE: connect ECONNREFUSED 127.0.0.1:1729");
    assert.equal(await Deno.readTextFile(`${dir}/${RECORD_FILE}`), text);
  }),
);

Deno.test(
  "healthy calls never write a record or a lock file",
  withDir(async (dir) => {
    assert.deepEqual(await call(dir, 1_000_000, undefined), { budget: FULL, fields: {} });
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  }),
);

Deno.test("NetAuth's refusals and TLS refusing the server are no outage", () => {
  const transport = (phase: "connect" | "tls" | "rpc", tlsRejected = false) => ({
    phase,
    unanswered: true,
    tlsRejected,
  });
  const phase = (kind: NetAuthError["kind"], t?: ReturnType<typeof transport>) =>
    outagePhase(new NetAuthError(kind, "scripted", t));
  assert.equal(phase("unavailable", transport("rpc")), "rpc");
  assert.equal(phase("unavailable", transport("tls")), "tls");
  assert.equal(phase("unavailable", transport("connect")), "connect");
  assert.equal(phase("unavailable", transport("tls", true)), undefined);
  assert.equal(phase("unavailable"), undefined);
  assert.equal(phase("refused"), undefined);
});

Deno.test("a record that cannot be read or written leaves the call on the full try", async () => {
  const logged: string[] = [];
  const missing = "/nonexistent-outage-dir";
  assert.deepEqual(await call(missing, 1_000_000, HUNG, logged), { budget: FULL, fields: {} });
  assert.match(logged.join("\n"), /outage record not updated/);
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/${RECORD_FILE}`); // a directory where the file should be: unreadable
    assert.equal((await call(dir, 1_000_000, HUNG, logged)).budget, FULL);
    assert.match(logged.join("\n"), /outage record not read/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a caller who may not read the record makes the full try, logged only at DEBUG", async () => {
  const logged: string[] = [];
  const unreadable = { path: "/x/outage.json", read: () => Promise.reject(new Deno.errors.PermissionDenied("no")) };
  const gate = new OutageGate({
    store: unreadable as unknown as OutageStore,
    windowMs: WINDOW,
    now: () => 1_000_000,
    logger: createLogger("DEBUG", (line) => logged.push(line)),
  });
  assert.equal(await gate.begin(1_000_000 + FULL), 1_000_000 + FULL);
  assert.match(logged.join("\n"), /^level=debug msg="outage record not read"/);
});

Deno.test(
  "issue 26: waiting for the record's lock never leaves a short try: the probe counts from after it, a spent full try is no_time",
  withDir(async (dir) => {
    const t0 = Date.parse("2026-12-04T12:00:00Z");
    await call(dir, t0, HUNG); // an outage recorded, its full try at t0
    let clock = t0 + WINDOW + 1; // due for the window's next full try: begin claims it under the lock
    const store = new OutageStore(dir);
    const slowLock: OutageStore = Object.assign(Object.create(store), {
      lock: async (until: number) => {
        clock += 280; // the lock came late: a parallel login held it
        return await store.lock(until);
      },
    });
    const gate = (full: number) =>
      new OutageGate({ store: slowLock, windowMs: WINDOW, now: () => clock, logger: createLogger("ERROR", () => {}) })
        .begin(full);
    // A full try left with 720 ms before the wait has 440 after it: no call at all, never one the cache answers for.
    const start = clock;
    await assert.rejects(() => gate(start + 720), (err: { outcome?: string }) => err.outcome === "no_time");
    // In the window again: a probe, its 700 ms counted from after the lock.
    const probe = await gate(clock + FULL);
    assert.equal(probe - clock, PROBE_MS);
  }),
);
