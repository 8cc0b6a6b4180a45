// Runs the helper the way it ships: `deno run` with exactly the flags `install.sh --print-flags`
// prints for the config directory, a PAM-like environment and the password on stdin.
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url).pathname;
const decoder = new TextDecoder();

export interface HelperRun {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

export async function printFlags(confDir: string, cacheDir?: string): Promise<string[]> {
  const cache = cacheDir ? ["--cache-dir", cacheDir] : [];
  const args = ["--print-flags", "--conf-dir", confDir, ...cache];
  const out = await new Deno.Command(`${ROOT}install.sh`, { args }).output();
  assert.ok(out.success, `install.sh --print-flags failed: ${decoder.decode(out.stderr)}`);
  return decoder.decode(out.stdout).trim().split(" ");
}

export interface RunOptions {
  confDir: string;
  env?: Record<string, string>;
  stdin?: Uint8Array | string;
  args?: string[];
  /** The sandbox to run in; defaults to `install.sh --print-flags --conf-dir confDir`. */
  flags?: string[];
  /** Must appear nowhere in stdout or stderr. */
  secret?: string;
  /** Write stdin but never close it: a stalled pam_exec. */
  holdStdin?: boolean;
  /** A command that runs deno, given as its first arguments (for example a private mount namespace). */
  wrapper?: string[];
  /** The program to run: src/main.ts unless a built bundle's entry is given. */
  entry?: string;
}

export async function runHelper(options: RunOptions): Promise<HelperRun> {
  const flags = options.flags ?? await printFlags(options.confDir);
  const started = performance.now();
  const [program, ...prefix] = [...options.wrapper ?? [], Deno.execPath()];
  const child = new Deno.Command(program, {
    args: [
      ...prefix,
      "run",
      "--quiet",
      ...flags,
      options.entry ?? `${ROOT}src/main.ts`,
      "--config",
      `${options.confDir}/config.toml`,
      ...(options.args ?? []),
    ],
    cwd: ROOT,
    clearEnv: true,
    // pam_exec passes no PATH or HOME either; DENO_DIR only tells deno where its cache is.
    env: { DENO_DIR: denoDir(), ...options.env },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  const input = options.stdin ?? "";
  await writer.write(typeof input === "string" ? new TextEncoder().encode(input) : input).catch(() => {});
  if (!options.holdStdin) await writer.close().catch(() => {});
  const out = await child.output();
  await writer.close().catch(() => {});
  const run = {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
    ms: performance.now() - started,
  };
  if (options.secret) {
    assert.ok(!run.stdout.includes(options.secret) && !run.stderr.includes(options.secret), "secret leaked to output");
  }
  return run;
}

let cachedDenoDir: string | undefined;
export function denoDir(): string {
  if (!cachedDenoDir) {
    const out = new Deno.Command(Deno.execPath(), { args: ["info", "--json"] }).outputSync();
    cachedDenoDir = JSON.parse(decoder.decode(out.stdout)).denoDir as string;
  }
  return cachedDenoDir;
}

/** A config directory holding config.toml and, when given, keys/tls.pem, open to read like /etc/netauth. */
export async function makeConfDir(toml: string, caPem?: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "netauth-conf-" });
  await Deno.chmod(dir, 0o755); // makeTempDir's 0700 would earn --check a WARN: users could not read it
  await Deno.writeTextFile(`${dir}/config.toml`, toml);
  if (caPem) {
    await Deno.mkdir(`${dir}/keys`);
    await Deno.writeTextFile(`${dir}/keys/tls.pem`, caPem);
  }
  return dir;
}

export function configToml(port: number, extra = ""): string {
  return `[core]\nserver = "localhost"\nport = ${port}\n[client]\nID = "test-host"\n${extra}`;
}

/** The decision's logfmt line: the last line on stderr. */
export function decisionLine(run: HelperRun): string {
  return run.stderr.trim().split("\n").at(-1) ?? "";
}
