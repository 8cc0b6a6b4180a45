/**
 * install.sh's last gate before it places anything: run the staged helper through its staged launcher
 * and require the version line, a fail-closed answer and exactly the declared sandbox. A build that
 * is anything else (a REPL from a wrong DENORT_BIN, a broken bundle) never reaches PAM.
 *
 * @module
 */
import { VERSION } from "../version.ts";

/** How a run of the staged launcher ended. */
export interface LauncherRun {
  /** Its exit status. */
  code: number;
  /** What it printed. */
  stdout: string;
}

/** Runs the staged launcher with `args`; tests pass a fake. */
export type RunLauncher = (args: string[]) => Promise<LauncherRun>;

/** What is wrong with the staged build; empty when it may be installed. */
export async function verifyBuild(run: RunLauncher, expectedFlags: string[]): Promise<string[]> {
  const problems: string[] = [];
  const version = await run(["--version"]);
  const want = `netauth-pam-helper ${VERSION}`;
  if (version.code !== 0 || version.stdout.trim() !== want) {
    problems.push(
      `--version printed ${JSON.stringify(firstLine(version.stdout))} (exit ${version.code}), not "${want}"`,
    );
  }
  const noRequest = await run([]);
  if (noRequest.code !== 3) problems.push(`without PAM_TYPE it exited ${noRequest.code}, not 3 (fail closed)`);
  const audit = await run(["--audit"]);
  let report: { declared?: unknown; unexpected?: unknown };
  try {
    report = JSON.parse(audit.stdout);
  } catch {
    problems.push(`--audit printed no JSON report (exit ${audit.code})`);
    return problems;
  }
  if (JSON.stringify(report.declared) !== JSON.stringify(expectedFlags)) {
    problems.push(`--audit declares ${JSON.stringify(report.declared)}, not ${JSON.stringify(expectedFlags)}`);
  }
  if (!Array.isArray(report.unexpected) || report.unexpected.length > 0) {
    problems.push(`--audit found permissions beyond the declared ones: ${JSON.stringify(report.unexpected)}`);
  }
  return problems;
}

function firstLine(text: string): string {
  return text.trim().split("\n")[0].slice(0, 120);
}

/** Runs the launcher with an empty environment and no stdin, bounded: a REPL or a hang must not stall. */
export function spawnLauncher(launcher: string): RunLauncher {
  return async (args) => {
    const out = await new Deno.Command(launcher, {
      args,
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "null",
      signal: AbortSignal.timeout(30_000),
    }).output().catch((err) => ({ code: -1, stdout: new TextEncoder().encode(String(err)) }));
    return { code: out.code, stdout: new TextDecoder().decode(out.stdout) };
  };
}

if (import.meta.main) {
  // verify_build.ts LAUNCHER FLAGS...
  const [launcher, ...flags] = Deno.args;
  const problems = await verifyBuild(spawnLauncher(launcher), flags);
  for (const problem of problems) console.error(`verify: ${problem}`);
  Deno.exit(problems.length === 0 ? 0 : 1);
}
