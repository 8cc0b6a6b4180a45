// Issue 27: one login, two transports. The same table of cases runs directly and through the broker (which is
// started with its own, different --cache-tries and --cache-max-age: the line's options must win), and both must
// give the same exit, outcome, source, outage state and offline try count.
import assert from "node:assert/strict";
import { atUnload, it, removeAtUnload, startScripted } from "../../testkit/fixture.ts";
import { SECRETS } from "../../testkit/fake_netauth.ts";
import { decisionLine, runHelper } from "../../testkit/run_helper.ts";
import { brokerFlags, makeSocketDir, startBroker } from "../../testkit/broker.ts";
import { dirname } from "../../src/paths.ts";
import { CacheStore } from "../../src/cache/store.ts";
import { OutageStore } from "../../src/outage/record.ts";

const { server, confDir, cacheDir } = await startScripted({ cache: true });
const socket = await makeSocketDir();
removeAtUnload(dirname(dirname(socket)));
const flags = await brokerFlags(confDir, socket, cacheDir);
// The broker's own limits differ from every line's below: a broker applying its own would break parity.
const broker = await startBroker({
  confDir,
  socket,
  flags,
  args: ["--cache-dir", cacheDir, "--cache-tries", "50", "--cache-max-age", "52w"],
});
atUnload(() => broker.signal("SIGKILL"));
const store = new CacheStore(cacheDir);
const outage = new OutageStore(cacheDir);

type Path = "direct" | "broker";

/** One PAM call on `path` with the line's `args`; what a user and an admin see of it. */
async function call(path: Path, type: string, user: string, password: string, args: string[]) {
  const run = await runHelper({
    confDir,
    flags,
    env: { PAM_TYPE: type, PAM_USER: user, PAM_SERVICE: "parity" },
    stdin: password,
    args: [...(path === "broker" ? ["--broker-socket", socket] : []), "--cache-dir", cacheDir, ...args],
    secret: password || undefined,
  });
  const line = decisionLine(run);
  const field = (name: string) => line.match(new RegExp(` ${name}=(\\S+)`))?.[1];
  const entry = await store.read(user);
  return {
    seen: {
      exit: run.code,
      outcome: field("outcome"),
      source: field("source"),
      outage: field("outage"),
      attempt: field("attempt"),
      tries: entry?.offlineFailures,
    },
    line,
  };
}

/** A fresh cache entry for `user` (one online login), no outage record. */
async function reset(user: string, password: string) {
  await outage.remove();
  assert.equal((await call("direct", "auth", user, password, ["--timeout", "5"])).seen.exit, 0);
}

/** Makes `user`'s entry `ms` older than now. */
async function age(user: string, ms: number) {
  const entry = await store.read(user);
  await store.write({ ...entry!, onlineAt: Date.now() - ms });
}

interface Case {
  name: string;
  steps: (path: Path) => Promise<Awaited<ReturnType<typeof call>>[]>;
}

const T = ["--timeout", "4"];
const offline = async <R>(fn: () => Promise<R>) => {
  server.pause();
  try {
    return await fn();
  } finally {
    server.resume();
  }
};

const CASES: Case[] = [
  { name: "online success", steps: (p) => Promise.all([call(p, "auth", "alice", SECRETS.alice, T)]) },
  { name: "wrong password", steps: async (p) => [await call(p, "auth", "alice", "nope-parity", T)] },
  { name: "locked", steps: async (p) => [await call(p, "account", "carol", "", T)] },
  { name: "unknown entity", steps: async (p) => [await call(p, "account", "nobody", "", T)] },
  {
    name: "required group",
    steps: async (p) => [await call(p, "auth", "bob", SECRETS.bob, [...T, "--require-group", "ops"])],
  },
  {
    name: "outage: the first call's full try, then a probe in the window",
    steps: async (p) => {
      await reset("alice", SECRETS.alice);
      return await offline(async () => [
        await call(p, "auth", "alice", SECRETS.alice, T),
        await call(p, "auth", "alice", SECRETS.alice, T),
      ]);
    },
  },
  {
    name: "the line's --cache-tries 1: one wrong guess offline disables the entry",
    steps: async (p) => {
      await reset("alice", SECRETS.alice);
      const line = [...T, "--cache-tries", "1"];
      return await offline(async () => [
        await call(p, "auth", "alice", "wrong-offline", line),
        await call(p, "auth", "alice", SECRETS.alice, line),
      ]);
    },
  },
  {
    name: "the line's --cache-max-age 1h: a two-hour-old entry is refused",
    steps: async (p) => {
      await reset("alice", SECRETS.alice);
      await age("alice", 2 * 3600e3);
      return await offline(
        async () => [await call(p, "auth", "alice", SECRETS.alice, [...T, "--cache-max-age", "1h"])],
      );
    },
  },
];

for (const c of CASES) {
  it(`parity: ${c.name}`, async () => {
    const direct = await c.steps("direct");
    const brokered = await c.steps("broker");
    for (const [i, b] of brokered.entries()) assert.match(b.line, /path=broker/, `step ${i} did not use the broker`);
    assert.deepEqual(
      brokered.map((r) => r.seen),
      direct.map((r) => r.seen),
      `direct:\n${direct.map((r) => r.line).join("\n")}\nbroker:\n${brokered.map((r) => r.line).join("\n")}`,
    );
    await outage.remove();
  });
}
