// `deno task bench`: wall time and peak memory of one helper run, next to `deno run` of an
// empty script in the same session. Medians of interleaved runs; this machine is shared.
import { SECRETS, startFakeNetAuth } from "../tests/integration/fake_netauth.ts";
import { makePki } from "../tests/integration/pki.ts";
import { configToml, makeConfDir, printFlags } from "../tests/integration/run_helper.ts";

const RUNS = Number(Deno.env.get("BENCH_RUNS") ?? 15);
const ROOT = new URL("../", import.meta.url).pathname;

interface Case {
  name: string;
  args: string[];
  env?: Record<string, string>;
  stdin?: string;
  expectExit: number;
  /** Runs before each measurement of this case (for example: take NetAuth down). */
  before?: () => void;
}

/** One run under GNU time: wall ms and peak RSS in KiB. */
async function measure(c: Case): Promise<{ ms: number; kib: number }> {
  c.before?.();
  const child = new Deno.Command("/usr/bin/time", {
    args: ["-f", "%e %M", Deno.execPath(), "run", "--quiet", ...c.args],
    cwd: ROOT,
    env: c.env,
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const started = performance.now();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(c.stdin ?? ""));
  await writer.close();
  const out = await child.output();
  const ms = performance.now() - started;
  const lines = new TextDecoder().decode(out.stderr).trim().split("\n");
  if (out.code !== c.expectExit) {
    throw new Error(`${c.name}: exit ${out.code}, wanted ${c.expectExit}: ${lines.join(" | ")}`);
  }
  return { ms, kib: Number(lines.at(-1)!.split(" ")[1]) };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const pki = await makePki();
const server = await startFakeNetAuth({ cert: pki.serverCert, key: pki.serverKey });
const confDir = await makeConfDir(configToml(server.port), pki.caPem);
const empty = await Deno.makeTempFile({ suffix: ".ts" });
const cacheDir = await Deno.makeTempDir();
try {
  const flags = await printFlags(confDir);
  const helper = [...flags, "src/main.ts", "--config", `${confDir}/config.toml`];
  const cached = [...await printFlags(confDir, cacheDir), "src/main.ts", "--config", `${confDir}/config.toml`];
  cached.push("--cache-dir", cacheDir);
  const pam = (user: string) => ({ PAM_TYPE: "auth", PAM_USER: user, PAM_SERVICE: "bench" });
  const up = () => server.resume(), down = () => server.pause();
  const cases: Case[] = [
    { name: "deno run (empty script)", args: ["--no-prompt", empty], expectExit: 0 },
    { name: "helper: bad PAM_USER (no gRPC)", args: helper, env: pam("a b"), expectExit: 10 },
    {
      name: "helper: successful auth",
      args: helper,
      env: pam("alice"),
      stdin: SECRETS.alice,
      expectExit: 0,
      before: up,
    },
    {
      name: "  with --cache-dir (stores verifier)",
      args: cached,
      env: pam("alice"),
      stdin: SECRETS.alice,
      expectExit: 0,
      before: up,
    },
    {
      name: "  NetAuth down, from the cache",
      args: cached,
      env: pam("alice"),
      stdin: SECRETS.alice,
      expectExit: 0,
      before: down,
    },
  ];
  const results = new Map(cases.map((c) => [c.name, { ms: [] as number[], kib: [] as number[] }]));
  await measure(cases[3]); // warm the module cache once, and fill the offline cache
  for (let i = 0; i < RUNS; i++) {
    for (const c of cases) {
      const r = await measure(c);
      results.get(c.name)!.ms.push(r.ms);
      results.get(c.name)!.kib.push(r.kib);
    }
  }
  const base = results.get(cases[0].name)!;
  console.log(
    `${RUNS} interleaved runs each, medians (deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} cores)`,
  );
  console.log("case                               wall ms   x empty   peak RSS MiB   x empty");
  for (const c of cases) {
    const r = results.get(c.name)!;
    const ms = median(r.ms), mib = median(r.kib) / 1024;
    console.log(
      `${c.name.padEnd(34)} ${ms.toFixed(0).padStart(7)} ${(ms / median(base.ms)).toFixed(2).padStart(9)} ` +
        `${mib.toFixed(1).padStart(14)} ${(median(r.kib) / median(base.kib)).toFixed(2).padStart(9)}`,
    );
  }
} finally {
  await server.stop();
  for (const path of [pki.dir, confDir, empty, cacheDir]) await Deno.remove(path, { recursive: true });
}
