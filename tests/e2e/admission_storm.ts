// A storm of logins started at once through real pam_exec: one shell forks every pamtester with `&`, then waits, so
// no parent staggers them. Shared by tests/e2e/admission_test.ts and the numbers in docs/performance.md.

/** What a storm of `count` logins came to: exit codes, each login's wall ms from the storm's start, peak memory. */
export interface Storm {
  /** How many pamtester calls exited 0. */
  ok: number;
  /** Each login's wall ms from the common start, in order. */
  wallMs: number[];
  /** The highest sum of the helper runtimes' RSS seen, in MiB (0 unless sampled). */
  peakMiB: number;
  /** The most helper runtimes (deno processes) seen at once (0 unless sampled). */
  peakRuntimes: number;
  /** The highest sum of RSS of the logins' other processes that hold the install's paths (waiting launchers). */
  waitingMiB: number;
  /** Wall ms of the whole storm. */
  totalMs: number;
}

/**
 * `count` pamtester `authenticate` calls of `user` on `service` with `password`, all forked at once by one shell.
 * With `sampleRssOf`, the RSS of every process whose command line holds that string is summed every 50 ms.
 */
export async function storm(
  opts: { service: string; user: string; password: string; count: number; sampleRssOf?: string },
): Promise<Storm> {
  const dir = await Deno.makeTempDir({ prefix: "netauth-storm-" });
  try {
    // Each login writes "exit end-ms" to its own file; the shell starts them all before waiting for any.
    const script = `i=0; while [ $i -lt ${opts.count} ]; do i=$((i + 1)); ` +
      `( printf '%s\\n' "$0" | pamtester ${opts.service} ${opts.user} authenticate >/dev/null 2>&1; ` +
      `echo "$? $(date +%s%3N)" >${dir}/$i ) & done; wait`;
    let sampling = true;
    const peak = { kib: 0, runtimes: 0, waitingKib: 0 };
    const sampler = opts.sampleRssOf
      ? (async () => {
        while (sampling) {
          const now = rssOf(opts.sampleRssOf!);
          peak.kib = Math.max(peak.kib, now.kib);
          peak.runtimes = Math.max(peak.runtimes, now.runtimes);
          peak.waitingKib = Math.max(peak.waitingKib, now.otherKib);
          await new Promise((r) => setTimeout(r, 50));
        }
      })()
      : Promise.resolve();
    const started = Date.now();
    const out = await new Deno.Command("sh", { args: ["-c", script, opts.password], stdin: "null" }).output();
    const totalMs = Date.now() - started;
    sampling = false;
    await sampler;
    if (!out.success) throw new Error(`the storm's shell failed: ${new TextDecoder().decode(out.stderr)}`);
    const results = [...Array(opts.count).keys()].map((i) =>
      Deno.readTextFileSync(`${dir}/${i + 1}`).trim().split(" ")
    );
    return {
      ok: results.filter(([code]) => code === "0").length,
      wallMs: results.map(([, end]) => Number(end) - started),
      peakMiB: peak.kib / 1024,
      peakRuntimes: peak.runtimes,
      waitingMiB: peak.waitingKib / 1024,
      totalMs,
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Of the processes whose command line contains `needle`: how many are runtimes (argv[0] is a deno), the sum of their
 * VmRSS (KiB), and the sum of the others' (a waiting launcher's shell names the command it will run).
 */
function rssOf(needle: string): { runtimes: number; kib: number; otherKib: number } {
  const sum = { runtimes: 0, kib: 0, otherKib: 0 };
  const runtimes = new Map<string, number>();
  const read = (pid: string, file: string) => Deno.readTextFileSync(`/proc/${pid}/${file}`);
  const isRuntime = (cmdline: string) => cmdline.includes(needle) && cmdline.split("\0")[0].endsWith("/deno");
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const cmdline = read(entry.name, "cmdline");
      if (!cmdline.includes(needle)) continue;
      const kib = Number(read(entry.name, "status").match(/^VmRSS:\s+(\d+)/m)?.[1] ?? 0);
      if (isRuntime(cmdline)) runtimes.set(entry.name, kib);
      else sum.otherKib += kib;
    } catch { /* gone */ }
  }
  // The sweep takes time: one runtime may end and another start within it. Those still running once it is over
  // were all alive at one moment (every first look came before every second one), so they ran at once.
  for (const [pid, kib] of runtimes) {
    let alive = false;
    try {
      alive = isRuntime(read(pid, "cmdline"));
    } catch { /* gone */ }
    if (alive) (sum.runtimes++, sum.kib += kib);
  }
  return sum;
}

/** The `q` quantile (0..1) of `values`, nearest rank. */
export function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}
