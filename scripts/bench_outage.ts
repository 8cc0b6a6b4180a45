// The bench's outage case (issue 19): NetAuth accepts TCP and never answers. Each sequence starts
// without an outage record and logs in three times as sshd does (auth, then account); then the
// server recovers, the window is made to have passed, and one more login must be NetAuth's.

/** One measured helper run: wall ms and the helper's decision line. */
export type Measure = (argv: string[], env: Record<string, string>, stdin: string, expectExit: number) => Promise<{
  ms: number;
  line: string;
}>;

export interface OutageTarget {
  label: string;
  /** "cache" or "no cache". */
  variant: string;
  launcher: string;
  /** Where this install keeps the outage record (the cache directory, else the runtime's TMPDIR). */
  recordPath: string;
  secret: string;
  /** 0 from the cache, 9 without one. */
  expectExit: number;
}

export interface OutageServer {
  hang(): void;
  resume(): void;
}

export interface OutageRow {
  tree: string;
  variant: string;
  step: string;
  medianMs: number;
  samplesMs: number[];
}

const LOGINS = 3;

/** `runs` sequences for `target`: the medians of every step, and whether each recovery was NetAuth's. */
export async function benchOutage(
  target: OutageTarget,
  server: OutageServer,
  measure: Measure,
  runs: number,
): Promise<{ rows: OutageRow[]; recovered: string[] }> {
  const samples = new Map<string, number[]>();
  const recovered: string[] = [];
  const env = (type: string) => ({ PAM_TYPE: type, PAM_USER: "alice", PAM_SERVICE: "sshd" });
  const add = (step: string, ms: number) => samples.set(step, [...samples.get(step) ?? [], Math.round(ms)]);
  for (let i = 0; i < runs; i++) {
    await Deno.remove(target.recordPath).catch(() => {});
    server.hang();
    try {
      for (let login = 1; login <= LOGINS; login++) {
        const auth = await measure([target.launcher], env("auth"), target.secret, target.expectExit);
        const account = await measure([target.launcher], env("account"), "", target.expectExit);
        add(`login ${login}: auth`, auth.ms);
        add(`login ${login}: account`, account.ms);
        add(`login ${login}: auth + account`, auth.ms + account.ms);
      }
    } finally {
      server.resume();
    }
    await windowPassed(target.recordPath);
    const back = await measure([target.launcher], env("auth"), target.secret, 0);
    add("after recovery, window passed: auth", back.ms);
    // Main before issue 19 keeps no record: its line has no outage field.
    const fields = back.line.match(/ (outage|source)=\S+/g)?.map((f) => f.trim());
    recovered.push(fields?.join(" ") ?? "neither outage= nor source= (no cache, no record)");
  }
  const rows = [...samples].map(([step, ms]) => ({
    tree: target.label,
    variant: target.variant,
    step,
    medianMs: median(ms),
    samplesMs: ms,
  }));
  return { rows, recovered };
}

/** Moves the record's last full try an hour back, as if the window had passed (the bench runs as root). */
async function windowPassed(path: string): Promise<void> {
  const raw = JSON.parse(await Deno.readTextFile(path).catch(() => "null"));
  if (!raw) return; // a tree without outage records (main before issue 19)
  raw.fullTryAt = new Date(Date.parse(raw.fullTryAt) - 3600e3).toISOString();
  await Deno.writeTextFile(path, JSON.stringify(raw) + "\n");
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b), m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : Math.round((s[m - 1] + s[m]) / 2);
}

/** The outage table: one line per step, one column per tree and variant. */
export function printOutage(rows: OutageRow[], recovered: Map<string, string[]>): void {
  const columns = [...new Set(rows.map((r) => `${r.tree} ${r.variant}`))];
  console.log("\noutage (hung server: accepts TCP, never answers): median wall ms per call");
  console.log(`| step | ${columns.join(" | ")} |`);
  console.log(`|---|${columns.map(() => "---:").join("|")}|`);
  for (const step of [...new Set(rows.map((r) => r.step))]) {
    const cells = columns.map((c) => rows.find((r) => `${r.tree} ${r.variant}` === c && r.step === step)?.medianMs);
    console.log(`| ${step} | ${cells.map((v) => v ?? "-").join(" | ")} |`);
  }
  for (const [column, lines] of recovered) console.log(`recovery, ${column}: ${lines.join("; ")}`);
}
