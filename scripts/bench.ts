// `deno task bench`: the INSTALLED helper (what pam_exec runs: launcher -> `deno run` on the bundle),
// installed into a temporary prefix by the real install.sh, next to `deno run` of an empty script.
// Each case alternates with an empty run, so ratios compare runs taken under the same load.
//   BENCH_RUNS=N       repetitions of every case (default 10; CI's smoke check uses 1)
//   BENCH_TREE=DIR[,DIR...]  install each DIR's install.sh instead of this checkout's; with several, every
//                      case runs for each tree in turn (before/after side by side, under the same load)
//   BENCH_OUT=FILE     where the JSON goes (default: a temporary file; its path is printed)
//   BENCH_NETAUTHD=0   skip the real netauthd even when its binaries are present
//   BENCH_ONLY=outage  run only the outage case (scripts/bench_outage.ts): a hung server, login after login
//   BENCH_ONLY=broker  run only the warm broker's cases (scripts/bench_broker.ts; they also run by default):
//                      a login through it vs direct vs empty, bursts of 50 and 200, its RSS after 10,000 logins
import { benchBroker, type BrokerBenchHooks, median, printBroker } from "./bench_broker.ts";
import { benchOutage, type OutageRow, type OutageTarget, printOutage } from "./bench_outage.ts";
import { SECRETS, startFakeNetAuth } from "../testkit/fake_netauth.ts";
import { makePki } from "../testkit/pki.ts";
import { percentile, startedAtOnce } from "./burst.ts";
import { configToml, makeConfDir } from "../testkit/run_helper.ts";
import { ALICE_SECRET, ensureNetAuthBinaries, type NetAuthd, startNetAuthd } from "../testkit/netauthd.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const TREES = (Deno.env.get("BENCH_TREE") ?? ROOT).split(",").map((t) => t.replace(/\/?$/, "/"));
const RUNS = Math.max(1, Number(Deno.env.get("BENCH_RUNS") ?? 10));
const BURST = 50;
/** The sizes every burst case runs at: what sshd, su or a config-management run start at once. */
const BURST_SIZES = [50, 200];
const ONLY_OUTAGE = Deno.env.get("BENCH_ONLY") === "outage";
const ONLY_BROKER = Deno.env.get("BENCH_ONLY") === "broker";
/** Logins driven over the broker's socket before its RSS is read; CI's BENCH_RUNS=1 smoke run does 500. */
const BROKER_RSS_LOGINS = RUNS === 1 ? 500 : 10_000;
/** Outage sequences per tree and variant: each waits out a full try of about 10 s (main: every call). */
const OUTAGE_RUNS = Math.max(1, Math.min(RUNS, 3));
const BURST_ROUNDS = Math.max(1, Math.ceil(RUNS / 4));
// pam_exec as a screen locker runs it: real and effective uid the (unprivileged) user's.
const AS_NOBODY = ["/usr/bin/setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"];
const decoder = new TextDecoder();

interface Case {
  /** Which checkout's install runs (a label: directory and commit). */
  tree: string;
  server: string;
  name: string;
  argv: string[];
  env: Record<string, string>;
  stdin?: string;
  expectExit: number;
  /** Runs before each measurement (for example: take NetAuth down), `after` undoes it. */
  before?: () => void | Promise<void>;
  after?: () => void | Promise<void>;
}
interface Sample {
  ms: number;
  kib: number;
  /** The helper's decision line (the last before GNU time's). */
  line: string;
}

/** One run under GNU time: wall ms (ours) and peak RSS in KiB (its %M). */
async function measure(c: Case): Promise<Sample> {
  await c.before?.();
  try {
    const child = new Deno.Command("/usr/bin/time", {
      args: ["-f", "%e %M", ...c.argv],
      cwd: "/",
      clearEnv: true, // pam_exec passes the PAM variables, no PATH or HOME
      env: c.env,
      stdin: "piped",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const started = performance.now();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(c.stdin ?? "")).catch(() => {});
    await writer.close().catch(() => {});
    const out = await child.output();
    const ms = performance.now() - started;
    const lines = decoder.decode(out.stderr).trim().split("\n");
    if (out.code !== c.expectExit) {
      throw new Error(
        `${c.tree} ${c.server} ${c.name}: exit ${out.code}, wanted ${c.expectExit}: ${lines.join(" | ")}`,
      );
    }
    return { ms, kib: Number(lines.at(-1)!.split(" ")[1]), line: lines.at(-2) ?? "" };
  } finally {
    await c.after?.();
  }
}

/** One burst's figures: logins started all at once (scripts/burst.ts), not staggered by this process. */
interface BurstResult {
  /** From the release until the last login exited. */
  ms: number;
  /** The sum of the logins' peak RSS: an upper bound on the burst's peak total memory. */
  kib: number;
  /** Logins that did not exit as the case expects (on 2 cores some may reach the deadline). */
  failed: number;
  /** Per-login wall ms, 50th and 99th percentile. */
  p50: number;
  p99: number;
}

/** `size` runs of `c` started at once, as sshd or su produce them. */
async function burst(c: Case, size = BURST): Promise<BurstResult> {
  const r = await startedAtOnce({ argv: c.argv, env: c.env, stdin: c.stdin ?? "", size });
  const ms = r.logins.map((l) => l.ms);
  return {
    ms: r.wallMs,
    kib: r.logins.reduce((sum, l) => sum + l.kib, 0),
    failed: r.logins.filter((l) => l.exit !== c.expectExit).length,
    p50: percentile(ms, 50),
    p99: percentile(ms, 99),
  };
}

/** A storm of `size` wrong passwords started at once, and `c`'s legitimate login started 500 ms into it. */
async function storm(c: Case, size = 200) {
  const r = await startedAtOnce({
    argv: c.argv,
    env: c.env,
    stdin: "wrong-storm-password",
    size,
    during: { stdin: c.stdin ?? "", delayMs: 500 },
  });
  return {
    tree: c.tree,
    server: c.server,
    case: `${c.name}, during ${size} wrong passwords`,
    stormMs: r.wallMs,
    stormRefused: r.logins.filter((l) => l.exit === 7).length,
    legitMs: r.during!.ms,
    legitExit: r.during!.exit,
  };
}

async function run(cmd: string, args: string[], env?: Record<string, string>): Promise<string> {
  const out = await new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" }).output();
  const text = decoder.decode(out.stdout) + decoder.decode(out.stderr);
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")} failed (exit ${out.code}):\n${text}`);
  return text;
}

/** A bundle-mode install of `tree` under a fresh prefix (root-owned, readable by all, like /usr/local). */
async function install(
  tree: string,
  confDir: string,
  cacheDir?: string,
  extra: string[] = [],
): Promise<{ prefix: string; launcher: string }> {
  const prefix = await Deno.makeTempDir({ prefix: "netauth-bench-prefix-" });
  await Deno.chmod(prefix, 0o755);
  installs.push({ tree, prefix });
  const cache = cacheDir ? ["--cache-dir", cacheDir] : [];
  // Installs side by side share the host-wide logrotate snippet: a later one replaces the earlier one's (--force
  // keeps it, and the uninstalls, last first, put it back; docs/install.md, "Host-wide files").
  const force = installs.length > 1 ? ["--force"] : [];
  await run(`${tree}install.sh`, [
    "--mode",
    "bundle",
    "--prefix",
    prefix,
    "--conf-dir",
    confDir,
    ...cache,
    ...force,
    ...extra,
  ]);
  // install.sh copies deno beside the bundle. Pages cp has just written stay cached in small units that
  // map worse than a binary read back from disk (about 3.5 MiB more peak RSS per run): drop them, so the
  // copy is measured as it runs after a reboot.
  const copy = `${prefix}/lib/netauth-pam-helper/deno`;
  if (await Deno.stat(copy).then(() => true, () => false)) {
    await run("sync", [copy]);
    await run("dd", [`if=${copy}`, "iflag=nocache", "count=0", "status=none"]);
  }
  return { prefix, launcher: `${prefix}/sbin/netauth-pam-helper` };
}

function revOf(tree: string): string {
  const rev = new Deno.Command("git", { args: ["-C", tree, "rev-parse", "--short", "HEAD"], stderr: "null" })
    .outputSync();
  return rev.success ? decoder.decode(rev.stdout).trim() : "unknown";
}

function machine() {
  const cpu = Deno.readTextFileSync("/proc/cpuinfo").match(/^model name\s*:\s*(.*)$/m)?.[1] ?? "unknown";
  return {
    nproc: navigator.hardwareConcurrency,
    cpu,
    deno: Deno.version.deno,
    trees: TREES.map((tree) => ({ tree, rev: revOf(tree) })),
  };
}

const pam = (type: string, user: string) => ({ PAM_TYPE: type, PAM_USER: user, PAM_SERVICE: "bench" });

/** The cases against one server, given a tree's launcher. */
function serverCases(tree: string, server: string, launcher: string, secret: string): Case[] {
  const cases: Omit<Case, "tree">[] = [
    {
      server,
      name: "successful auth, root",
      argv: [launcher],
      env: pam("auth", "alice"),
      stdin: secret,
      expectExit: 0,
    },
    {
      server,
      name: "successful auth, unprivileged uid",
      argv: [...AS_NOBODY, launcher],
      env: pam("auth", "alice"),
      stdin: secret,
      expectExit: 0,
    },
    { server, name: "wrong password", argv: [launcher], env: pam("auth", "alice"), stdin: "wrong", expectExit: 7 },
    { server, name: "account", argv: [launcher], env: pam("account", "alice"), expectExit: 0 },
  ];
  return cases.map((c) => ({ tree, ...c }));
}

const temps: string[] = [];
/** Uninstalled at the end: an install also writes host files (the logrotate snippet) outside its prefix. */
const installs: { tree: string; prefix: string }[] = [];
let netauthd: NetAuthd | undefined;
const pki = await makePki();
const fake = await startFakeNetAuth({ cert: pki.serverCert, key: pki.serverKey });
temps.push(pki.dir);
try {
  const info = machine();
  const labels = new Map(
    info.trees.map(({ tree, rev }) => [tree, `${tree.replace(/\/$/, "").split("/").pop()}@${rev}`]),
  );
  console.log(`bench: installing ${[...labels.values()].join(", ")} in bundle mode; ${RUNS} runs per case`);
  const empty = await Deno.makeTempFile({ suffix: ".js" });
  temps.push(empty);
  await Deno.chmod(empty, 0o644);
  const emptyCase: Case = {
    tree: "-",
    server: "-",
    name: "deno run (empty script)",
    argv: [Deno.execPath(), "run", "--quiet", "--no-prompt", empty],
    env: { DENO_NO_UPDATE_CHECK: "1", HOME: Deno.env.get("HOME") ?? "/root" },
    expectExit: 0,
  };
  const confDir = await makeConfDir(configToml(fake.port), pki.caPem);
  temps.push(confDir);
  const gate = Deno.env.get("BENCH_NETAUTHD") === "0"
    ? { ok: false, why: "BENCH_NETAUTHD=0" }
    : await ensureNetAuthBinaries();
  let realConf: string | undefined;
  if (gate.ok) {
    netauthd = await startNetAuthd();
    // Its client dir is below a 0700 temporary directory: copy it where an unprivileged caller can read.
    realConf = await makeConfDir(
      await Deno.readTextFile(netauthd.clientConfig),
      await Deno.readTextFile(netauthd.caPath),
    );
    temps.push(realConf);
  } else {
    console.log(`bench: no real netauthd (${gate.why})`);
  }

  /** Every case for one tree, in a fixed order; `bursts` indexes the ones also run as a burst. */
  const perTree: Case[][] = [];
  const burstIndexes: number[] = [];
  const outageTargets: OutageTarget[] = [];
  const brokerHooks: BrokerBenchHooks[] = [];
  for (const tree of TREES) {
    const label = labels.get(tree)!;
    const cacheDir = await Deno.makeTempDir({ prefix: "netauth-bench-cache-" });
    temps.push(cacheDir);
    const plain = await install(tree, confDir);
    const cached = await install(tree, confDir, cacheDir);
    temps.push(plain.prefix, cached.prefix);
    const cases: Case[] = [
      ...serverCases(label, "fake", plain.launcher, SECRETS.alice),
      {
        tree: label,
        server: "fake",
        name: "bad PAM_USER (no server)",
        argv: [plain.launcher],
        env: pam("auth", "a b"),
        expectExit: 10,
      },
      {
        tree: label,
        server: "fake",
        name: "offline cache (server down)",
        argv: [cached.launcher],
        env: pam("auth", "alice"),
        stdin: SECRETS.alice,
        expectExit: 0,
        before: () => fake.pause(),
        after: () => fake.resume(),
      },
    ];
    await measure({ ...cases[0], argv: [cached.launcher] }); // fills the offline cache
    const outage = { label, secret: SECRETS.alice };
    outageTargets.push(
      { ...outage, variant: "cache", launcher: cached.launcher, recordPath: `${cacheDir}/outage.json`, expectExit: 0 },
      {
        ...outage,
        variant: "no cache",
        launcher: plain.launcher,
        recordPath: `${plain.prefix}/lib/netauth-pam-helper/runtime/tmp/outage.json`,
        expectExit: 9,
      },
    );
    if (perTree.length === 0) burstIndexes.push(0);
    // The warm broker's cases, for a tree whose install.sh knows --broker (an older BENCH_TREE may not).
    if (Deno.readTextFileSync(`${tree}install.sh`).includes("--broker)")) {
      const login = { ...cases[0], argv: [] };
      brokerHooks.push({
        label,
        installBroker: async () => {
          const brokered = await install(tree, confDir, undefined, ["--broker"]);
          temps.push(brokered.prefix);
          return brokered;
        },
        directLauncher: plain.launcher,
        login: (launcher) => measure({ ...login, argv: [launcher] }),
        empty: () => measure(emptyCase),
        burst: (launcher, size) => burst({ ...login, argv: [launcher] }, size),
        runs: RUNS,
        burstRounds: BURST_ROUNDS,
        configPath: `${confDir}/config.toml`,
        user: "alice",
        secret: SECRETS.alice,
      });
    }
    if (realConf) {
      const real = await install(tree, realConf);
      temps.push(real.prefix);
      if (perTree.length === 0) burstIndexes.push(cases.length);
      cases.push(...serverCases(label, "netauthd", real.launcher, ALICE_SECRET));
    }
    perTree.push(cases);
  }
  const outageRows: OutageRow[] = [];
  const recovered = new Map<string, string[]>();
  for (const target of ONLY_BROKER ? [] : outageTargets) {
    const result = await benchOutage(target, fake, async (argv, env, stdin, expectExit) => {
      const s = await measure({ tree: target.label, server: "fake", name: "outage", argv, env, stdin, expectExit });
      return { ms: s.ms, line: s.line };
    }, OUTAGE_RUNS);
    outageRows.push(...result.rows);
    recovered.set(`${target.label} ${target.variant}`, result.recovered);
  }
  if (!ONLY_BROKER) printOutage(outageRows, recovered);
  let report: Record<string, unknown> = { machine: info, runs: RUNS, outage: outageRows };
  if (!ONLY_OUTAGE && !ONLY_BROKER) {
    // kinds[k] holds case k of every tree: they run back to back, so trees compare under the same load.
    const kinds = perTree[0].map((_, k) => perTree.map((cases) => cases[k]));
    for (const kind of kinds) for (const c of kind) await measure(c); // warm-up, not recorded

    const samples = new Map<Case, Sample[]>([[emptyCase, []], ...kinds.flat().map((c) => [c, []] as [Case, Sample[]])]);
    for (let i = 0; i < RUNS; i++) {
      for (const kind of kinds) {
        for (const c of kind) {
          samples.get(emptyCase)!.push(await measure(emptyCase));
          samples.get(c)!.push(await measure(c));
        }
      }
    }
    const burstResults = new Map<string, { c: Case; size: number; r: BurstResult[] }>();
    const storms = [];
    for (let i = 0; i < BURST_ROUNDS; i++) {
      for (const k of burstIndexes) {
        for (const c of kinds[k]) {
          for (const size of BURST_SIZES) {
            const key = `${c.tree} ${c.server} ${c.name} ${size}`;
            const entry = burstResults.get(key) ?? { c, size, r: [] };
            entry.r.push(await burst(c, size));
            burstResults.set(key, entry);
          }
          storms.push(await storm(c));
        }
      }
    }

    const baseMs = median(samples.get(emptyCase)!.map((s) => s.ms));
    const rows = [...samples].map(([c, s]) => {
      const ms = median(s.map((x) => x.ms)), kib = median(s.map((x) => x.kib));
      return {
        tree: c.tree,
        server: c.server,
        case: c.name,
        medianMs: Math.round(ms),
        ratio: Number((ms / baseMs).toFixed(2)),
        peakRssMiB: Number((kib / 1024).toFixed(1)),
        samplesMs: s.map((x) => Math.round(x.ms)),
        samplesKiB: s.map((x) => x.kib),
      };
    });
    const burstRows = [...burstResults.values()].map(({ c, size, r }) => {
      const ms = median(r.map((x) => x.ms));
      return {
        tree: c.tree,
        server: c.server,
        case: `${size} at once: ${c.name}`,
        size,
        medianTotalMs: Math.round(ms),
        loginsPerSecond: Number((size / (ms / 1000)).toFixed(1)),
        p50Ms: Math.round(median(r.map((x) => x.p50))),
        p99Ms: Math.round(median(r.map((x) => x.p99))),
        sumPeakRssMiB: Number((median(r.map((x) => x.kib)) / 1024).toFixed(0)),
        failed: r.reduce((sum, x) => sum + x.failed, 0),
        rounds: r.length,
        samplesMs: r.map((x) => Math.round(x.ms)),
      };
    });

    // One line per case, one column group per tree.
    const trees = [...labels.values()];
    const cell = (tree: string, server: string, name: string) => {
      const r = rows.find((x) => x.tree === tree && x.server === server && x.case === name)!;
      return `${r.medianMs} | ${r.ratio.toFixed(2)} | ${r.peakRssMiB}`;
    };
    console.log(`\nmachine: ${info.nproc} cores, ${info.cpu}, deno ${info.deno}`);
    console.log(
      `medians of ${RUNS} runs, each alternating with an empty \`deno run\` ` +
        `(median ${Math.round(baseMs)} ms, ${rows[0].peakRssMiB} MiB); wall ms | × empty | peak RSS MiB per tree\n`,
    );
    console.log(`| server | case | ${trees.map((t) => `${t} ms | × | MiB`).join(" | ")} |`);
    console.log(`|---|---|${trees.map(() => "---:|---:|---:").join("|")}|`);
    for (const c of perTree[0]) {
      console.log(`| ${c.server} | ${c.name} | ${trees.map((t) => cell(t, c.server, c.name)).join(" | ")} |`);
    }
    console.log(
      "\nbursts: every login started at once (forked first, released together); per-login p50/p99 from GNU time",
    );
    console.log(
      "| tree | server | burst | total wall ms | logins/s | p50 ms | p99 ms | sum of peak RSS MiB | failed |",
    );
    console.log("|---|---|---|---:|---:|---:|---:|---:|---:|");
    for (const r of burstRows) {
      console.log(
        `| ${r.tree} | ${r.server} | ${r.case} | ${r.medianTotalMs} | ${r.loginsPerSecond} | ${r.p50Ms} | ` +
          `${r.p99Ms} | ${r.sumPeakRssMiB} | ${r.failed}/${r.size * r.rounds} |`,
      );
    }
    console.log("\n| tree | server | legitimate login | storm wall ms | wrong refused (7) | legit ms | legit exit |");
    console.log("|---|---|---|---:|---:|---:|---:|");
    for (const r of storms) {
      console.log(
        `| ${r.tree} | ${r.server} | ${r.case} | ${r.stormMs} | ${r.stormRefused} | ${r.legitMs} | ${r.legitExit} |`,
      );
    }
    report = { ...report, emptyMedianMs: Math.round(baseMs), rows, bursts: burstRows, storms };
  }
  if (!ONLY_OUTAGE) {
    const broker = [];
    for (const hooks of brokerHooks) broker.push(await benchBroker(hooks, BROKER_RSS_LOGINS));
    if (broker.length) printBroker(broker, RUNS, BROKER_RSS_LOGINS < 10_000);
    else console.log("\nbroker cases skipped: no tree's install.sh has --broker");
    report = { ...report, broker };
  }
  const out = Deno.env.get("BENCH_OUT") ?? await Deno.makeTempFile({ prefix: "netauth-bench-", suffix: ".json" });
  await Deno.writeTextFile(out, JSON.stringify(report, null, 2) + "\n");
  console.log(`\nJSON: ${out}`);
} finally {
  await netauthd?.cleanup();
  await fake.stop();
  for (const { tree, prefix } of installs.reverse()) {
    await run(`${tree}install.sh`, ["--uninstall", "--prefix", prefix]).catch((e) => console.error(e.message));
  }
  for (const path of temps) await Deno.remove(path, { recursive: true }).catch(() => {});
}
