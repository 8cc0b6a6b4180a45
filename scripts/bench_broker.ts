// The bench's broker parts (scripts/bench.ts): start an installed broker the way its unit does, drive
// it straight over its socket with the helper's own protocol, and read its resident set size.
import { type BrokerLine, decodeFrame, encodeRequest, readFrame, writeAll } from "../src/broker/protocol.ts";
import { brokerLine } from "../src/broker/forward.ts";

export interface RunningBroker {
  pid: number;
  stop(): Promise<void>;
}

/**
 * `LAUNCHER --serve` as root, at the unit's `Nice=-10` (PID 1 here need not be systemd); resolves once
 * its socket answers.
 */
export async function startInstalledBroker(launcher: string, socket: string): Promise<RunningBroker> {
  const child = new Deno.Command("/usr/bin/nice", {
    args: ["-n", "-10", launcher, "--serve"],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  for (let tries = 0;; tries++) {
    const conn = await Deno.connect({ transport: "unix", path: socket }).catch(() => undefined);
    if (conn) {
      conn.close();
      break;
    }
    if (tries > 600) throw new Error(`the broker did not listen on ${socket}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    pid: child.pid,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}

/** The process's resident set size now, in KiB (VmRSS). */
export function rssKiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? NaN);
}

/** `count` auth requests straight over the socket, `parallel` at a time; throws on any unexpected answer. */
export async function driveBroker(
  socket: string,
  login: { user: string; secret: string; expectExit: number; line: BrokerLine },
  count: number,
  parallel = 16,
): Promise<void> {
  let next = 0;
  const one = async () => {
    const conn = await Deno.connect({ transport: "unix", path: socket });
    try {
      const read = (into: Uint8Array) => conn.read(into);
      await readFrame(read); // the greeting
      const frame = encodeRequest({
        type: "auth",
        remainingMs: 10_000,
        user: login.user,
        service: "bench",
        rhost: "",
        ruser: "",
        tty: "",
        line: login.line,
        secret: new TextEncoder().encode(login.secret),
      });
      await writeAll((bytes) => conn.write(bytes), frame);
      const body = await readFrame(read);
      const reply = body && decodeFrame(body);
      if (reply?.kind !== "reply" || reply.reply.exit !== login.expectExit) {
        throw new Error(`broker answered ${JSON.stringify(reply)}`);
      }
    } finally {
      conn.close();
    }
  };
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next++ < count) await one();
  }));
}

/** One measured login process: wall ms and peak RSS in KiB. */
export interface LoginSample {
  ms: number;
  kib: number;
}

/** What the broker cases need from scripts/bench.ts: its installer and its ways to run a login. */
export interface BrokerBenchHooks {
  /** Which tree (label) is measured. */
  label: string;
  /** `install.sh --broker` of the tree into a fresh prefix, uninstalled by the caller. */
  installBroker(): Promise<{ prefix: string; launcher: string }>;
  /** The direct install's launcher (same config and server, no broker). */
  directLauncher: string;
  /** A successful login (root) through `launcher`, measured. */
  login(launcher: string): Promise<LoginSample>;
  /** An empty `deno run`, measured. */
  empty(): Promise<LoginSample>;
  /** `size` successful logins through `launcher`, started all at once (scripts/burst.ts). */
  burst(launcher: string, size: number): Promise<{ ms: number; kib: number; failed: number; p50: number; p99: number }>;
  runs: number;
  burstRounds: number;
  /** The config the installs name (the broker serves only requests for it). */
  configPath: string;
  /** The login the RSS case drives over the socket. */
  user: string;
  secret: string;
}

const BURST_SIZES = [50, 200];
/** The median of `xs` (the mean of the middle two for an even count); bench.ts uses it too. */
export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b), m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const mib = (kib: number) => Number((kib / 1024).toFixed(1));

/**
 * The broker cases, side by side in one run: a login through the broker vs direct vs an empty `deno run`
 * (alternating), bursts of 50 and 200 both ways, and the broker's RSS after `rssLogins` logins over its
 * socket. The broker is always stopped before this returns.
 */
export async function benchBroker(h: BrokerBenchHooks, rssLogins: number) {
  const brokered = await h.installBroker();
  const socket = `${brokered.prefix}/lib/netauth-pam-helper/runtime/broker/socket`;
  const broker = await startInstalledBroker(brokered.launcher, socket);
  // The installed line's options, as the helper there would send them (defaults, no cache).
  const line = brokerLine({
    configPath: h.configPath,
    timeoutSeconds: 10,
    requireGroups: [],
    outageWindowMs: 30_000,
    runtimeDir: `${brokered.prefix}/lib/netauth-pam-helper/runtime`,
  });
  try {
    const loginWays = [["direct", h.directLauncher], ["broker", brokered.launcher]] as const;
    const ways = [["empty deno run", undefined], ...loginWays] as const;
    const run = (launcher?: string) => launcher ? h.login(launcher) : h.empty();
    for (const [, launcher] of ways) await run(launcher); // warm-up, not recorded
    const samples = new Map<string, LoginSample[]>(ways.map(([way]) => [way, []]));
    for (let i = 0; i < h.runs; i++) {
      for (const [way, launcher] of ways) samples.get(way)!.push(await run(launcher));
    }
    const emptyMs = median(samples.get("empty deno run")!.map((s) => s.ms));
    const logins = [...samples].map(([way, s]) => {
      const ms = median(s.map((x) => x.ms));
      return {
        tree: h.label,
        way,
        medianMs: Math.round(ms),
        ratio: Number((ms / emptyMs).toFixed(2)),
        peakRssMiB: mib(median(s.map((x) => x.kib))),
        samplesMs: s.map((x) => Math.round(x.ms)),
      };
    });
    const bursts = [];
    for (const size of BURST_SIZES) {
      for (const [way, launcher] of loginWays) {
        const r = [];
        for (let i = 0; i < h.burstRounds; i++) r.push(await h.burst(launcher, size));
        const ms = median(r.map((x) => x.ms));
        bursts.push({
          tree: h.label,
          way,
          size,
          rounds: r.length,
          medianTotalMs: Math.round(ms),
          loginsPerSecond: Number((size / (ms / 1000)).toFixed(1)),
          p50Ms: Math.round(median(r.map((x) => x.p50))),
          p99Ms: Math.round(median(r.map((x) => x.p99))),
          failed: r.reduce((sum, x) => sum + x.failed, 0),
        });
      }
    }
    // Every login above went through this broker; read its RSS once warm, then after each fifth of rssLogins.
    const warmMiB = mib(rssKiB(broker.pid));
    const afterMiB: number[] = [];
    for (let step = 0; step < 5; step++) {
      await driveBroker(socket, { user: h.user, secret: h.secret, expectExit: 0, line }, rssLogins / 5);
      afterMiB.push(mib(rssKiB(broker.pid)));
    }
    return { logins, bursts, rss: { tree: h.label, logins: rssLogins, warmMiB, afterMiB } };
  } finally {
    await broker.stop();
  }
}

/** The broker cases' tables. */
export function printBroker(results: Awaited<ReturnType<typeof benchBroker>>[], runs: number, scaled: boolean) {
  console.log(`\nbroker: medians of ${runs} runs, alternating; wall ms | × empty | peak RSS MiB per login process\n`);
  console.log("| tree | login | ms | × | MiB |\n|---|---|---:|---:|---:|");
  for (const r of results.flatMap((x) => x.logins)) {
    console.log(`| ${r.tree} | ${r.way} | ${r.medianMs} | ${r.ratio.toFixed(2)} | ${r.peakRssMiB} |`);
  }
  console.log(
    "\n| tree | started at once | way | rounds | total wall ms | logins/s | p50 ms | p99 ms | failed |\n" +
      "|---|---:|---|---:|---:|---:|---:|---:|---:|",
  );
  for (const b of results.flatMap((x) => x.bursts)) {
    console.log(
      `| ${b.tree} | ${b.size} | ${b.way} | ${b.rounds} | ${b.medianTotalMs} | ${b.loginsPerSecond} | ${b.p50Ms} | ` +
        `${b.p99Ms} | ${b.failed} |`,
    );
  }
  for (const { rss } of results) {
    const note = scaled ? ` (BENCH_RUNS=1: scaled down from 10,000)` : "";
    console.log(
      `\nbroker RSS (${rss.tree}): ${rss.warmMiB} MiB once warm; after each fifth of ${rss.logins} more logins` +
        `${note}: ${rss.afterMiB.join(", ")} MiB`,
    );
  }
}
