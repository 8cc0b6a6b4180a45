// A throwaway real NetAuth server (netauthd v0.6.4) for integration tests: loopback, TLS, filesystem DB,
// fixtures below. Binaries come from tests/netauthd/install.sh. Callers must `cleanup()` in a finally block.

export const NETAUTH_VERSION = "v0.6.4";
export const ADMIN = "admin";
export const ADMIN_SECRET = "admin-secret";
export const ALICE_SECRET = "alice-pw"; // in ops, so in staff via `staff INCLUDE ops`
export const BOB_SECRET = "bob-pw"; // directly in staff
export const CAROL_SECRET = "carol-pw"; // in ops, locked
export const DAVE_SECRET = "dave-pw"; // in no group
export const CLIENT_ID = "pam-helper-test";

export type CliResult = { code: number; stdout: string; stderr: string };

export interface NetAuthd {
  dir: string;
  port: number;
  serverName: string;
  /** PEM to trust for the server certificate (self-signed, SANs localhost and 127.0.0.1). */
  caPath: string;
  /** Holds config.toml (core.server, core.port, tls.certificate = keys/tls.pem, client.ID) and keys/tls.pem. */
  clientConfigDir: string;
  clientConfig: string;
  /** netauthd's stderr so far, across restarts. */
  log(): Promise<string>;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** SIGSTOP / SIGCONT: connections are accepted but nothing answers until `thaw`. */
  freeze(): void;
  thaw(): void;
  cleanup(): Promise<void>;
  /** Runs the netauth CLI as the given entity (none: anonymous); never throws on a non-zero exit. */
  cli(args: string[], as?: { entity: string; secret: string }): Promise<CliResult>;
  /** Runs the netauth CLI as the bootstrap admin; throws on a non-zero exit. */
  admin(...args: string[]): Promise<string>;
}

export function netauthBinDir(): string {
  return Deno.env.get("NETAUTH_BIN") ??
    `${Deno.env.get("HOME") ?? "/nonexistent"}/.cache/netauth-pam-helper/netauth-${NETAUTH_VERSION}/bin`;
}

const BINARIES = ["netauthd", "nsutil", "netauth"];

async function missingBinaries(): Promise<string[]> {
  const missing = [];
  for (const name of BINARIES) {
    const info = await Deno.stat(`${netauthBinDir()}/${name}`).catch(() => undefined);
    if (!info?.isFile || ((info.mode ?? 0o755) & 0o111) === 0) missing.push(name);
  }
  return missing;
}

/** Builds the binaries only when NETAUTH_INSTALL=1: a cold build takes ~45 s and needs the Go proxy. */
export async function ensureNetAuthBinaries(): Promise<{ ok: true } | { ok: false; why: string }> {
  let missing = await missingBinaries();
  if (missing.length > 0 && Deno.env.get("NETAUTH_INSTALL") === "1") {
    const script = new URL("../tests/netauthd/install.sh", import.meta.url).pathname;
    const res = await run("sh", [script], { timeoutMs: 600_000, inheritEnv: true });
    if (res.code !== 0) return { ok: false, why: `${script} failed (exit ${res.code}): ${res.stderr.trim()}` };
    missing = await missingBinaries();
  }
  if (missing.length === 0) return { ok: true };
  const hint = "run tests/netauthd/install.sh, or set NETAUTH_INSTALL=1, or NETAUTH_BIN to a directory holding them";
  return { ok: false, why: `${missing.join(", ")} not found in ${netauthBinDir()}; ${hint}` };
}

/** Why netauthd cannot run here (its binaries are missing), or undefined: for testkit/skip.ts's `testWhere`. */
export async function missingNetAuthd(): Promise<string | undefined> {
  const bins = await ensureNetAuthBinaries();
  return bins.ok ? undefined : bins.why;
}

type RunOptions = { cwd?: string; env?: Record<string, string>; inheritEnv?: boolean; timeoutMs?: number };

/** Every child is bounded: a hung netauth CLI or nsutil must fail the test, not stall it. */
async function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<CliResult> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), opts.timeoutMs ?? 10_000);
  try {
    const { cwd, env, inheritEnv } = opts;
    const command = new Deno.Command(cmd, {
      args,
      cwd,
      env,
      clearEnv: !inheritEnv,
      stdin: "null",
      signal: abort.signal,
    });
    const out = await command.output();
    const dec = new TextDecoder();
    const res = { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
    if (abort.signal.aborted) res.stderr += `\n[killed after ${opts.timeoutMs ?? 10_000} ms]`;
    return res;
  } finally {
    clearTimeout(timer);
  }
}

function kill(proc: Deno.ChildProcess, signal: Deno.Signal) {
  try {
    proc.kill(signal);
  } catch { /* already exited */ }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function freePort(): number {
  // Racy by nature (someone may grab it before netauthd binds); startNetAuthd retries on "Could not bind".
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

export async function startNetAuthd(options: { readyTimeoutMs?: number } = {}): Promise<NetAuthd> {
  const bins = await ensureNetAuthBinaries();
  if (!bins.ok) throw new Error(bins.why);
  const bin = netauthBinDir();
  const dir = await Deno.makeTempDir({ prefix: "netauthd-" });
  const clientConfigDir = `${dir}/client`;
  const clientConfig = `${clientConfigDir}/config.toml`;
  // Cleared env: stray NETAUTH_* (netauthd refuses to run with the bootstrap vars) and $HOME/.netauth stay out;
  // TMPDIR isolates the CLI's token cache (os.TempDir()/<entity>.nt).
  const env = { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", HOME: dir, TMPDIR: `${dir}/tmp` };
  let port = 0;
  let child: Deno.ChildProcess | undefined;
  let logText = "";
  let pump: Promise<void> = Promise.resolve();
  let removed = false;

  const writeConfigs = async () => {
    // netauthd has no --config flag; it reads ./config.toml, so it runs with cwd = dir.
    // Relative tls.* and token key paths resolve against the config file's directory.
    await Deno.writeTextFile(
      `${dir}/config.toml`,
      `[core]\nhome = "${dir}/home"\n[server]\nbind = "127.0.0.1"\nport = ${port}\n` +
        `[tls]\ncertificate = "keys/tls.pem"\nkey = "keys/tls.key"\n[db]\nbackend = "filesystem"\n` +
        // bcrypt's default cost 15 makes each fixture secret take seconds.
        `[crypto]\nbackend = "bcrypt"\n[crypto.bcrypt]\ncost = 4\n[token]\nlifetime = "10m"\n`,
    );
    // core.server is also the TLS server name, so it must be one of the certificate's SANs.
    await Deno.writeTextFile(
      clientConfig,
      `[core]\nserver = "localhost"\nport = ${port}\n[tls]\ncertificate = "keys/tls.pem"\n` +
        `[client]\nID = "${CLIENT_ID}"\n`,
    );
  };
  // certgen/keygen write into cwd (keys/); all subcommands insist on a config file.
  const nsutil = async (args: string[], extraEnv = {}, mayFail = false) => {
    const opts = { cwd: `${dir}/keys`, env: { ...env, ...extraEnv } };
    const res = await run(`${bin}/nsutil`, ["--config", `${dir}/config.toml`, ...args], opts);
    if (res.code !== 0 && !mayFail) throw new Error(`nsutil ${args[0]} failed (exit ${res.code}): ${res.stderr}`);
  };
  const cli = (args: string[], as?: { entity: string; secret: string }) => {
    const who = as ? ["--entity", as.entity, "--secret", as.secret] : [];
    return run(`${bin}/netauth`, ["--config", clientConfig, ...who, ...args], { env });
  };
  const admin = async (...args: string[]) => {
    const res = await cli(args, { entity: ADMIN, secret: ADMIN_SECRET });
    if (res.code !== 0) throw new Error(`netauth ${args.join(" ")} failed (exit ${res.code}): ${res.stderr}`);
    return res.stdout;
  };

  const stop = async () => {
    if (!child) return;
    const proc = child;
    child = undefined;
    kill(proc, "SIGCONT"); // a frozen server would hold SIGTERM until killed
    kill(proc, "SIGTERM");
    // netauthd shuts down gracefully within milliseconds; give it 5 s before SIGKILL.
    const killer = setTimeout(() => kill(proc, "SIGKILL"), 5_000);
    await proc.status;
    clearTimeout(killer);
    await pump;
  };

  const start = async () => {
    if (child) throw new Error("netauthd is already running");
    const io = { stdin: "null", stdout: "null", stderr: "piped" } as const;
    const proc = new Deno.Command(`${bin}/netauthd`, { cwd: dir, env, clearEnv: true, ...io }).spawn();
    child = proc;
    let exited: Deno.CommandStatus | undefined;
    proc.status.then((status) => exited = status);
    const exitStatus = () => exited; // a call: TS would narrow the callback's write away
    pump = (async () => {
      for await (const chunk of proc.stderr.pipeThrough(new TextDecoderStream())) logText += chunk;
    })();
    const deadline = Date.now() + (options.readyTimeoutMs ?? 10_000);
    while (Date.now() < deadline && !exitStatus()) {
      if ((await cli(["system", "ping"])).code === 0) return;
      await sleep(50);
    }
    const status = exitStatus();
    const why = status
      ? `exited with code ${status.code}`
      : `did not answer ping within ${options.readyTimeoutMs ?? 10_000} ms`;
    await stop();
    throw new Error(`netauthd on 127.0.0.1:${port} ${why}; log:\n${logText}`);
  };

  const cleanup = async () => {
    await stop();
    if (removed) return;
    removed = true;
    await Deno.remove(dir, { recursive: true }).catch((err) => {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    });
  };

  try {
    await Promise.all(
      ["home", "keys", "tmp", "client/keys"].map((d) => Deno.mkdir(`${dir}/${d}`, { recursive: true })),
    );
    await writeConfigs();
    // Self-signed ECDSA (tls.pem/tls.key) and JWT keys (keys/rsa-*.tokenkey; v0.6.4 does not generate them).
    await Promise.all([nsutil(["certgen", "localhost", "localhost", "127.0.0.1"]), nsutil(["keygen", "rsa", "2048"])]);
    await Deno.copyFile(`${dir}/keys/tls.pem`, `${clientConfigDir}/keys/tls.pem`);
    await Deno.chmod(`${clientConfigDir}/keys/tls.pem`, 0o644); // certgen writes 0400
    // Offline bootstrap; v0.6.4 bug: the first run creates the entity then exits 1, the second sets secret and root.
    const boot = { NETAUTH_UNATTENDED_BOOTSTRAP_NAME: ADMIN, NETAUTH_UNATTENDED_BOOTSTRAP_SECRET: ADMIN_SECRET };
    await nsutil(["bootstrap"], boot, true);
    await nsutil(["bootstrap"], boot);

    for (let attempt = 1;; attempt++) {
      port = freePort();
      await writeConfigs();
      try {
        await start();
        break;
      } catch (err) {
        if (attempt >= 3 || !logText.includes("Could not bind")) throw err;
      }
    }
    // Always --initial-secret: without it the CLI silently uses the admin's --secret for the new entity.
    const secrets = { alice: ALICE_SECRET, bob: BOB_SECRET, carol: CAROL_SECRET, dave: DAVE_SECRET };
    const fixtures = [
      ...Object.entries(secrets).map(([name, secret]) => ["entity", "create", name, "--initial-secret", secret]),
      ["entity", "lock", "carol"],
      ["group", "create", "ops", "--display-name", "Operations"],
      ["group", "create", "staff", "--display-name", "Staff"],
      ["group", "rule", "staff", "INCLUDE", "ops"], // ops members are indirectly in staff
      ["entity", "membership", "alice", "ADD", "ops"],
      ["entity", "membership", "bob", "ADD", "staff"],
      ["entity", "membership", "carol", "ADD", "ops"],
    ];
    for (const args of fixtures) await admin(...args);
  } catch (err) {
    await cleanup();
    throw err;
  }

  return {
    dir,
    port, // fixed once up: start() after stop() reuses it
    serverName: "localhost",
    caPath: `${clientConfigDir}/keys/tls.pem`,
    clientConfigDir,
    clientConfig,
    log: () => Promise.resolve(logText),
    start,
    stop,
    freeze: () => child && kill(child, "SIGSTOP"),
    thaw: () => child && kill(child, "SIGCONT"),
    cleanup,
    cli,
    admin,
  };
}
