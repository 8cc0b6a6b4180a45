// Starts the broker (`main.ts --serve`) the way it ships: under the flags install_plan.ts prints with
// --broker-socket, its socket in a fresh root-only (0700) directory. Used by the broker's tests.
import assert from "node:assert/strict";
import { denoDir } from "./run_helper.ts";
import { SERVE_ENV } from "../src/install/launcher.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const decoder = new TextDecoder();

/** The helper's and the broker's sandbox, with the socket: what `install.sh --broker` bakes in. */
export async function brokerFlags(confDir: string, socket: string, cacheDir?: string): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--no-prompt",
      "--config",
      `${ROOT}deno.json`,
      "--allow-read",
      `${ROOT}src/install/install_plan.ts`,
      "--conf-dir",
      confDir,
      "--broker-socket",
      socket,
      ...(cacheDir ? ["--cache-dir", cacheDir] : []),
    ],
  }).output();
  assert.ok(out.success, decoder.decode(out.stderr));
  return decoder.decode(out.stdout).trim().split(" ");
}

/** A fresh directory for the socket, root's and 0700 as install.sh --broker makes it. */
export async function makeSocketDir(): Promise<string> {
  const base = await Deno.makeTempDir({ prefix: "netauth-broker-" });
  await Deno.chmod(base, 0o755);
  await Deno.mkdir(`${base}/broker`, { mode: 0o700 });
  await Deno.chmod(`${base}/broker`, 0o700);
  return `${base}/broker/socket`;
}

export interface Broker {
  /** Its process ID (its peak RSS is in /proc/PID/status, VmHWM). */
  pid: number;
  /** Every stderr line so far. */
  lines: string[];
  /** Resolves once the broker has written `count` decision lines (lines with exit=). */
  decisions(count: number): Promise<void>;
  signal(sig: Deno.Signal): void;
  /** Resolves with the exit status once it has ended. */
  status: Promise<Deno.CommandStatus>;
  stop(): Promise<void>;
}

export interface BrokerOptions {
  confDir: string;
  socket: string;
  flags: string[];
  args?: string[];
}

export async function startBroker(options: BrokerOptions): Promise<Broker> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      ...options.flags,
      `${ROOT}src/main.ts`,
      "--config",
      `${options.confDir}/config.toml`,
      "--broker-socket",
      options.socket,
      ...(options.args ?? []),
      "--serve",
    ],
    cwd: ROOT,
    clearEnv: true,
    // The heap cap the launcher gives the broker alone (install/launcher.ts SERVE_ENV).
    env: { DENO_DIR: denoDir(), [SERVE_ENV.split("=")[0]]: SERVE_ENV.slice(SERVE_ENV.indexOf("=") + 1) },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  return await watchBroker(child);
}

/**
 * Follows a spawned broker's stderr (piped) until it says `broker listening`; fails the test with what
 * it said if it ends first. The e2e tests spawn the installed launcher's `--serve` and watch it here.
 */
export async function watchBroker(child: Deno.ChildProcess): Promise<Broker> {
  const lines: string[] = [];
  let ended = false;
  const waiters: (() => void)[] = [];
  let listening!: () => void;
  const ready = new Promise<void>((resolve) => listening = resolve);
  (async () => {
    let rest = "";
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop()!;
      lines.push(...parts);
      if (parts.some((l) => l.includes("broker listening"))) listening();
      for (const wake of waiters.splice(0)) wake();
    }
    ended = true;
    listening();
    for (const wake of waiters.splice(0)) wake();
  })();
  const status = child.status;
  await Promise.race([ready, status]);
  assert.ok(lines.some((l) => l.includes("broker listening")), `the broker did not start:\n${lines.join("\n")}`);
  const decisionCount = () => lines.filter((l) => / exit=\d+/.test(l)).length;
  return {
    pid: child.pid,
    lines,
    async decisions(count) {
      while (decisionCount() < count) {
        assert.ok(!ended, `the broker ended after ${decisionCount()} decisions`);
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
    },
    signal(sig) {
      try {
        child.kill(sig);
      } catch {
        // already gone
      }
    },
    status,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch {
        // already gone
      }
      await status;
    },
  };
}
