// `deno task bench`: the INSTALLED helper (what pam_exec runs: launcher -> `deno run` on the bundle),
// installed into a temporary prefix by the real install.sh, next to `deno run` of an empty script.
// Each case alternates with an empty run, so ratios compare runs taken under the same load.
//   BENCH_RUNS=N       repetitions of every case (default 10; CI's smoke check uses 1)
//   BENCH_TREE=DIR     install DIR's install.sh instead of this checkout's (before/after comparisons)
//   BENCH_OUT=FILE     where the JSON goes (default: a temporary file; its path is printed)
//   BENCH_NETAUTHD=0   skip the real netauthd even when its binaries are present
import { SECRETS, startFakeNetAuth } from "../tests/integration/fake_netauth.ts";
import { makePki } from "../tests/integration/pki.ts";
import { configToml, makeConfDir } from "../tests/integration/run_helper.ts";
import { ALICE_SECRET, ensureNetAuthBinaries, type NetAuthd, startNetAuthd } from "../tests/support/netauthd.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const TREE = (Deno.env.get("BENCH_TREE") ?? ROOT).replace(/\/?$/, "/");
const RUNS = Math.max(1, Number(Deno.env.get("BENCH_RUNS") ?? 10));
const BURST = 50;
const BURST_ROUNDS = Math.max(1, Math.ceil(RUNS / 4));
// pam_exec as a screen locker runs it: real and effective uid the (unprivileged) user's.
const AS_NOBODY = ["/usr/bin/setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"];
const decoder = new TextDecoder();

interface Case {
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
      throw new Error(`${c.server} ${c.name}: exit ${out.code}, wanted ${c.expectExit}: ${lines.join(" | ")}`);
    }
    return { ms, kib: Number(lines.at(-1)!.split(" ")[1]) };
  } finally {
    await c.after?.();
  }
}

/**
 * BURST concurrent runs of `c`: total wall, the sum of their peak RSS, and how many did not succeed
 * (on a small machine the last of 50 logins can run into the helper's 10 s deadline).
 */
async function burst(c: Case): Promise<{ ms: number; kib: number; failed: number }> {
  const started = performance.now();
  const all = await Promise.allSettled(Array.from({ length: BURST }, () => measure(c)));
  const ok = all.flatMap((r) => r.status === "fulfilled" ? [r.value] : []);
  return { ms: performance.now() - started, kib: ok.reduce((sum, s) => sum + s.kib, 0), failed: BURST - ok.length };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b), m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function run(cmd: string, args: string[], env?: Record<string, string>): Promise<string> {
  const out = await new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" }).output();
  const text = decoder.decode(out.stdout) + decoder.decode(out.stderr);
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")} failed (exit ${out.code}):\n${text}`);
  return text;
}

/** A bundle-mode install of TREE under a fresh prefix (root-owned, readable by all, like /usr/local). */
async function install(confDir: string, cacheDir?: string): Promise<{ prefix: string; launcher: string }> {
  const prefix = await Deno.makeTempDir({ prefix: "netauth-bench-prefix-" });
  await Deno.chmod(prefix, 0o755);
  const cache = cacheDir ? ["--cache-dir", cacheDir] : [];
  await run(`${TREE}install.sh`, ["--mode", "bundle", "--prefix", prefix, "--conf-dir", confDir, ...cache]);
  return { prefix, launcher: `${prefix}/sbin/netauth-pam-helper` };
}

function machine() {
  const cpu = Deno.readTextFileSync("/proc/cpuinfo").match(/^model name\s*:\s*(.*)$/m)?.[1] ?? "unknown";
  const rev = new Deno.Command("git", { args: ["-C", TREE, "rev-parse", "--short", "HEAD"], stderr: "null" })
    .outputSync();
  return {
    nproc: navigator.hardwareConcurrency,
    cpu,
    deno: Deno.version.deno,
    tree: TREE,
    rev: rev.success ? decoder.decode(rev.stdout).trim() : "unknown",
  };
}

const pam = (type: string, user: string) => ({ PAM_TYPE: type, PAM_USER: user, PAM_SERVICE: "bench" });

/** The cases against one server, given its launcher (and, for the fake, a cached install). */
function serverCases(server: string, launcher: string, secret: string): Case[] {
  return [
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
}

const temps: string[] = [];
let netauthd: NetAuthd | undefined;
const pki = await makePki();
const fake = await startFakeNetAuth({ cert: pki.serverCert, key: pki.serverKey });
temps.push(pki.dir);
try {
  const info = machine();
  console.log(`bench: installing ${TREE} (rev ${info.rev}) in bundle mode; ${RUNS} runs per case`);
  const empty = await Deno.makeTempFile({ suffix: ".js" });
  temps.push(empty);
  await Deno.chmod(empty, 0o644);
  const emptyCase: Case = {
    server: "-",
    name: "deno run (empty script)",
    argv: [Deno.execPath(), "run", "--quiet", "--no-prompt", empty],
    env: { DENO_NO_UPDATE_CHECK: "1", HOME: Deno.env.get("HOME") ?? "/root" },
    expectExit: 0,
  };

  const confDir = await makeConfDir(configToml(fake.port), pki.caPem);
  const cacheDir = await Deno.makeTempDir({ prefix: "netauth-bench-cache-" });
  temps.push(confDir, cacheDir);
  const plain = await install(confDir);
  const cached = await install(confDir, cacheDir);
  temps.push(plain.prefix, cached.prefix);
  const cases: Case[] = [
    ...serverCases("fake", plain.launcher, SECRETS.alice),
    {
      server: "fake",
      name: "bad PAM_USER (no server)",
      argv: [plain.launcher],
      env: pam("auth", "a b"),
      expectExit: 10,
    },
    {
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
  // Fill the offline cache, and give every install one run before timing.
  await measure({ ...cases[0], argv: [cached.launcher] });
  const bursts: Case[] = [cases[0]];

  const gate = Deno.env.get("BENCH_NETAUTHD") === "0"
    ? { ok: false, why: "BENCH_NETAUTHD=0" }
    : await ensureNetAuthBinaries();
  if (gate.ok) {
    netauthd = await startNetAuthd();
    // Its client dir is below a 0700 temporary directory: copy it where an unprivileged caller can read.
    const realConf = await makeConfDir(
      await Deno.readTextFile(netauthd.clientConfig),
      await Deno.readTextFile(netauthd.caPath),
    );
    temps.push(realConf);
    const real = await install(realConf);
    temps.push(real.prefix);
    const realCases = serverCases("netauthd", real.launcher, ALICE_SECRET);
    cases.push(...realCases);
    bursts.push(realCases[0]);
  } else {
    console.log(`bench: no real netauthd (${gate.why})`);
  }
  for (const c of cases) await measure(c); // warm-up, not recorded

  const samples = new Map<Case, Sample[]>([[emptyCase, []], ...cases.map((c) => [c, []] as [Case, Sample[]])]);
  for (let i = 0; i < RUNS; i++) {
    for (const c of cases) {
      samples.get(emptyCase)!.push(await measure(emptyCase));
      samples.get(c)!.push(await measure(c));
    }
  }
  const burstResults = new Map<Case, { ms: number; kib: number; failed: number }[]>(bursts.map((c) => [c, []]));
  for (let i = 0; i < BURST_ROUNDS; i++) {
    for (const c of bursts) burstResults.get(c)!.push(await burst(c));
  }

  const base = samples.get(emptyCase)!;
  const baseMs = median(base.map((s) => s.ms));
  const rows = [...samples].map(([c, s]) => {
    const ms = median(s.map((x) => x.ms)), kib = median(s.map((x) => x.kib));
    return {
      server: c.server,
      case: c.name,
      medianMs: Math.round(ms),
      ratio: Number((ms / baseMs).toFixed(2)),
      peakRssMiB: Number((kib / 1024).toFixed(1)),
      samplesMs: s.map((x) => Math.round(x.ms)),
      samplesKiB: s.map((x) => x.kib),
    };
  });
  const burstRows = [...burstResults].map(([c, r]) => {
    const ms = median(r.map((x) => x.ms));
    return {
      server: c.server,
      case: `burst of ${BURST} concurrent: ${c.name}`,
      medianTotalMs: Math.round(ms),
      loginsPerSecond: Number((BURST / (ms / 1000)).toFixed(1)),
      sumPeakRssMiB: Number((median(r.map((x) => x.kib)) / 1024).toFixed(0)),
      failed: r.reduce((sum, x) => sum + x.failed, 0),
      samplesMs: r.map((x) => Math.round(x.ms)),
    };
  });

  console.log(`\nmachine: ${info.nproc} cores, ${info.cpu}, deno ${info.deno}; tree ${info.tree} (rev ${info.rev})`);
  console.log(
    `medians of ${RUNS} runs, each alternating with an empty \`deno run\` (median ${Math.round(baseMs)} ms)\n`,
  );
  console.log("| server | case | wall ms | × empty | peak RSS MiB |");
  console.log("|---|---|---:|---:|---:|");
  for (const r of rows) {
    console.log(`| ${r.server} | ${r.case} | ${r.medianMs} | ${r.ratio.toFixed(2)} | ${r.peakRssMiB} |`);
  }
  console.log("\n| server | burst | total wall ms | logins/s | sum of peak RSS MiB | failed |");
  console.log("|---|---|---:|---:|---:|---:|");
  for (const r of burstRows) {
    console.log(
      `| ${r.server} | ${r.case} | ${r.medianTotalMs} | ${r.loginsPerSecond} | ${r.sumPeakRssMiB} | ${r.failed} |`,
    );
  }
  const out = Deno.env.get("BENCH_OUT") ?? await Deno.makeTempFile({ prefix: "netauth-bench-", suffix: ".json" });
  await Deno.writeTextFile(
    out,
    JSON.stringify({ machine: info, runs: RUNS, emptyMedianMs: Math.round(baseMs), rows, bursts: burstRows }, null, 2) +
      "\n",
  );
  console.log(`\nJSON: ${out}`);
} finally {
  await netauthd?.cleanup();
  await fake.stop();
  for (const path of temps) await Deno.remove(path, { recursive: true }).catch(() => {});
}
