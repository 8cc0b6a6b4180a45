// The broker under a storm (docs/broker.md, "Under a storm"): a broker with the cache on, started as the
// tests start it (the launcher's heap cap) at the unit's Nice=-10, against the scripted server; 200 helper
// processes spawned first, each held by a shell on one FIFO, then all let go at once (as sshd would start
// them, not staggered by one parent awaiting each). Reports the outcomes, the paths, and the broker's peak
// RSS (VmHWM). Then a storm of 200 wrong passwords, and one legitimate login started during it: its wall time.
// Run as root, under the heavy-test lock: `deno run --allow-all scripts/bench_storm.ts [SIZE]`.
import { startScripted } from "../testkit/fixture.ts";
import { SECRETS } from "../testkit/fake_netauth.ts";
import { brokerFlags, makeSocketDir, startBroker } from "../testkit/broker.ts";
import { decisionLine, type HelperRun, runHelper } from "../testkit/run_helper.ts";

const SIZE = Number(Deno.args[0] ?? 200);
const { confDir, cacheDir } = await startScripted({ cache: true });
const socket = await makeSocketDir();
const flags = await brokerFlags(confDir, socket, cacheDir);
const cacheArgs = ["--cache-dir", cacheDir];
const broker = await startBroker({ confDir, socket, flags, args: cacheArgs });
await new Deno.Command("renice", { args: ["-n", "-10", "-p", String(broker.pid)], stdout: "null" }).output();
const kib = (field: string) =>
  Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(Deno.readTextFileSync(`/proc/${broker.pid}/status`))?.[1]);
const mib = (k: number) => Number((k / 1024).toFixed(1));

function login(user: string, password: string, gate?: string): Promise<HelperRun> {
  return runHelper({
    confDir,
    flags,
    env: { PAM_TYPE: "auth", PAM_USER: user, PAM_SERVICE: "storm" },
    stdin: password,
    args: ["--broker-socket", socket, ...cacheArgs],
    // Opening the FIFO blocks until the bench opens it for writing: every helper starts then.
    wrapper: gate ? ["/bin/sh", "-c", ': < "$0"; exec "$@"', gate] : undefined,
  });
}

/** `size` logins, spawned first and let go at once; `during` runs once they are let go. */
async function storm(user: string, password: string, during?: () => Promise<unknown>) {
  const dir = await Deno.makeTempDir();
  const gate = `${dir}/gate`;
  await new Deno.Command("mkfifo", { args: [gate] }).output();
  const runs = Array.from({ length: SIZE }, () => login(user, password, gate));
  await new Promise((resolve) => setTimeout(resolve, 3000)); // every shell is waiting on the FIFO
  const started = performance.now();
  const open = await Deno.open(gate, { write: true });
  await new Promise((resolve) => setTimeout(resolve, 500));
  open.close();
  const extra = await during?.();
  const done = await Promise.all(runs);
  const ms = Math.round(performance.now() - started);
  await Deno.remove(dir, { recursive: true });
  const tally = (key: (run: HelperRun) => string) => {
    const counts: Record<string, number> = {};
    for (const run of done) counts[key(run)] = (counts[key(run)] ?? 0) + 1;
    return counts;
  };
  return {
    ms,
    exits: tally((run) => String(run.code)),
    paths: tally((run) => /path=(broker|direct(?: broker="[^"]*")?)/.exec(decisionLine(run))?.[1] ?? "none"),
    extra,
  };
}

try {
  await login("alice", SECRETS.alice); // warm: the channel is up, the entry exists
  const warm = { rss: mib(kib("VmRSS")), hwm: mib(kib("VmHWM")) };
  const correct = await storm("alice", SECRETS.alice);
  const afterCorrect = mib(kib("VmHWM"));
  const wrong = await storm("alice", "wrong-password", async () => {
    await new Promise((resolve) => setTimeout(resolve, 300)); // the storm is under way
    const legit = await login("bob", SECRETS.bob);
    const brokerMs = broker.lines.find((l) => l.includes("entity=bob service=storm"))?.match(/ ms=(\d+)/)?.[1];
    return { code: legit.code, wallMs: Math.round(legit.ms), brokerMs: Number(brokerMs), line: decisionLine(legit) };
  });
  console.log(JSON.stringify(
    {
      size: SIZE,
      brokerWarmMiB: warm,
      correct: { ...correct, brokerPeakMiB: afterCorrect },
      wrong: { ...wrong, brokerPeakMiB: mib(kib("VmHWM")) },
    },
    null,
    2,
  ));
} finally {
  await broker.stop();
  globalThis.dispatchEvent(new Event("unload")); // the scripted server and the directories
}
