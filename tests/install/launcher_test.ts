// The launcher text, and the launcher itself run by /bin/sh with a harmless command in the helper's place.
import assert from "node:assert/strict";
import { launcherScript, SERVE_ENV, shellWord } from "../../src/install/launcher.ts";
import { needsRoot, testWhere } from "../../testkit/skip.ts";

const spec = {
  mode: "bundle" as const,
  command: ["/usr/bin/deno", "run", "--allow-read=/etc/netauth", "/lib/h.js", "--config", "/etc/netauth/config.toml"],
  runtimeDir: "/usr/local/lib/netauth-pam-helper/runtime",
  setpriv: "/usr/bin/setpriv",
};

Deno.test("the launcher keeps its effective uid, clears the environment and names root's runtime directories", () => {
  const text = launcherScript(spec);
  assert.match(text, /^#!\/bin\/sh -p\n/);
  assert.match(text, /^IFS=' '$/m);
  // The ids come from the shell's own /proc/PID/status, not from a child the caller could kill.
  assert.match(text, /^\{ while IFS='\t' read -r key real eff _; do$/m);
  assert.match(text, /^done <\/proc\/\$\$\/status; \} 2>\/dev\/null$/m);
  assert.match(
    text,
    /^ {2}as_root='\/usr\/bin\/setpriv --reuid=0 --regid=0 --clear-groups --inh-caps=-all --bounding-set=-all --'$/m,
  );
  assert.match(
    text,
    /^ {2}exec \/usr\/bin\/env -i HOME=\/usr\/local\/lib\/netauth-pam-helper\/runtime\/home DENO_DIR=\/usr\/local\/lib\/netauth-pam-helper\/runtime\/deno TMPDIR=\/usr\/local\/lib\/netauth-pam-helper\/runtime\/tmp DENO_NO_UPDATE_CHECK=1 \\$/m,
  );
  assert.match(
    text,
    /^set -- \/usr\/bin\/deno run --allow-read=\/etc\/netauth \/lib\/h.js --config \/etc\/netauth\/config.toml "\$@"$/m,
  );
  assert.match(
    text,
    / \$serve_env \$\{serve_env:\+\$\{LISTEN_PID\+"LISTEN_PID=\$LISTEN_PID"\}\} \$\{serve_env:\+\$\{LISTEN_FDS\+"LISTEN_FDS=\$LISTEN_FDS"\}\} \$as_root "\$@"\n\}\n/,
  );
  assert.match(text, /\nhelper "\$@"\n$/);
  assert.doesNotMatch(text, /admission/, "no login slots asked for: no admission control");
});

Deno.test("words that are not plain paths or flags are quoted for sh", () => {
  assert.equal(shellWord("--allow-net=localhost:1729"), "--allow-net=localhost:1729");
  assert.equal(shellWord("a b"), "'a b'");
  assert.equal(shellWord("it's"), "'it'\\''s'");
  assert.equal(shellWord("$(reboot)"), "'$(reboot)'");
});

/** Writes the launcher for `command`, runs it through `prefix` with `env`, returns stdout. */
async function runLauncher(command: string[], env: Record<string, string>, prefix: string[] = [], args: string[] = []) {
  const dir = await Deno.makeTempDir();
  await Deno.chmod(dir, 0o755); // a caller without root must be able to run it
  try {
    const path = `${dir}/launcher`;
    await Deno.writeTextFile(path, launcherScript({ ...spec, command }), { mode: 0o755 });
    const [cmd, ...rest] = [...prefix, path, ...args];
    const out = await new Deno.Command(cmd, { args: rest, env, clearEnv: true }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    return new TextDecoder().decode(out.stdout);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("only the PAM variables, NETAUTH_LOGLEVEL and the launcher's own reach the command", async () => {
  const printed = await runLauncher(["/usr/bin/env"], {
    NETAUTH_STARTED_MS: "5", // the caller's guess at a start time: the launcher sets its own
    PAM_TYPE: "auth",
    PAM_USER: "alice",
    NETAUTH_LOGLEVEL: "debug",
    DENO_DIR: "/home/mallory/.cache/deno",
    HOME: "/home/mallory",
    TMPDIR: "/tmp",
    LD_PRELOAD: "/tmp/evil.so",
    OTEL_DENO: "true",
    DENO_AUDIT_PERMISSIONS: "/etc/shadow",
  });
  assert.deepEqual(printed.trim().split("\n").sort().map((l) => l.replace(/^(NETAUTH_STARTED_MS=)\d{13}$/, "$1*")), [
    "DENO_DIR=/usr/local/lib/netauth-pam-helper/runtime/deno",
    "DENO_NO_UPDATE_CHECK=1",
    "HOME=/usr/local/lib/netauth-pam-helper/runtime/home",
    "NETAUTH_LOGLEVEL=debug",
    "NETAUTH_STARTED_MS=*",
    "PAM_TYPE=auth",
    "PAM_USER=alice",
    "TMPDIR=/usr/local/lib/netauth-pam-helper/runtime/tmp",
  ]);
});

Deno.test("--check --user NAME alone gets the host facts on stdin; no other call gets them", async () => {
  const cat = ["/bin/sh", "-c", "exec /bin/cat", "sh"]; // the helper's place: prints what it gets on stdin
  const facts = await runLauncher(cat, {}, [], ["--check", "--config", "/x", "--user", "root"]);
  assert.match(facts, /^@netauth-host-facts 1\n@euid \d+\n@user root\n@passwd-file\n root:/);
  assert.match(facts, /^@getent-passwd 0\n root:[^\n]*:0:0:/m);
  assert.deepEqual(await runLauncher(cat, {}, [], ["--check", "--user=root"]), facts);
  for (const args of [["--check"], ["--user", "root"], ["--config", "/x", "--check", "--user", "root"]]) {
    assert.equal(await runLauncher(cat, { PAM_TYPE: "account", PAM_USER: "root" }, [], args), "", args.join(" "));
  }
});

Deno.test("the start time passed on is the kernel's for the process, from before it exec'd the launcher", async () => {
  const spawned = Date.now();
  // The process waits a second, then execs the launcher in place, as pam_exec's child execs it after its set-up.
  const printed = await runLauncher(["/usr/bin/env"], {}, ["/bin/sh", "-c", 'sleep 1; exec "$0" "$@"']);
  const ended = Date.now();
  const started = Number(printed.match(/^NETAUTH_STARTED_MS=(\d+)$/m)?.[1]);
  assert.ok(ended - started >= 1000, `started ${ended - started} ms before the end: the second before exec is missing`);
  // USER_HZ ticks and /proc/uptime's hundredths (20 ms), plus at most half of what `date` took, which is less than
  // everything the launcher did besides the sleep.
  const slack = 20 + (ended - spawned - 1000) / 2;
  assert.ok(started >= spawned - slack, `started ${spawned - started} ms before the test spawned it (slack ${slack})`);
});

Deno.test("the command runs with umask 022 whatever the caller's umask", async () => {
  const printed = await runLauncher(["/bin/sh", "-c", "umask"], {}, ["/bin/sh", "-c", 'umask 000; exec "$0" "$@"']);
  assert.equal(printed, "0022\n");
});

Deno.test("arguments pass through unchanged, after the baked ones", async () => {
  const printed = await runLauncher(["/bin/echo", "baked"], {}, [], ["--timeout", "3", "a b", "$HOME"]);
  assert.equal(printed, "baked --timeout 3 a b $HOME\n");
});

testWhere(needsRoot("setpriv can only give a process root's effective uid as root"), {
  name: "started with euid root and a caller's real uid (su, sudo), every uid and gid becomes root",
  async fn() {
    // su's own ids: the caller's real uid and gids, effective uid root.
    const asSu = ["setpriv", "--ruid=65534", "--regid=65534", "--clear-groups"];
    const status = await runLauncher(["/bin/cat", "/proc/self/status"], {}, asSu);
    assert.match(status, /^Uid:\s+0\s+0\s+0\s+0$/m);
    assert.match(status, /^Gid:\s+0\s+0\s+0\s+0$/m);
    // A caller with no root at all (a screen locker) stays who it is.
    const locker = await runLauncher(["/bin/cat", "/proc/self/status"], {}, [
      "setpriv",
      "--reuid=65534",
      "--regid=65534",
      "--clear-groups",
    ]);
    assert.match(locker, /^Uid:\s+65534\s+65534\s+65534\s+65534$/m);
  },
});

testWhere(needsRoot("only root can start the launcher with root's ids, or give them away"), {
  name: "a caller with root (su, sudo, sshd, login) gets a helper that is root in every id and holds no capability",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "netauth-launcher-" });
    try {
      await Deno.chmod(dir, 0o755);
      const launcher = `${dir}/launcher`;
      const command = ["/bin/grep", "-E", "^(Uid|Gid|Groups|CapPrm|CapEff|CapBnd):", "/proc/self/status"];
      await Deno.writeTextFile(launcher, launcherScript({ ...spec, command, runtimeDir: dir }), { mode: 0o755 });
      const run = async (prefix: string[]) => {
        const [cmd, ...args] = [...prefix, launcher];
        const out = await new Deno.Command(cmd, { args, clearEnv: true }).output();
        assert.ok(out.success, new TextDecoder().decode(out.stderr));
        return new TextDecoder().decode(out.stdout).replace(/\s+/g, " ").trim();
      };
      // The sealed code cache is 0444: only a capability (CAP_DAC_OVERRIDE) would let root's uid write it.
      const rootNoCaps = "Uid: 0 0 0 0 Gid: 0 0 0 0 Groups: CapPrm: 0000000000000000 CapEff: 0000000000000000 " +
        "CapBnd: 0000000000000000";
      for (
        const ids of [["--clear-groups"], ["--ruid=65534", "--clear-groups"], ["--rgid=65534", "--clear-groups"], [
          "--groups=4",
        ]]
      ) {
        assert.equal(await run(["/usr/bin/setpriv", ...ids]), rootNoCaps, ids.join(" "));
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

testWhere(needsRoot("only root can hide /proc in a mount namespace and start the launcher with a caller's ids"), {
  name: "a /proc the launcher cannot read: setpriv runs (su: every id root); a caller without root fails closed",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "netauth-launcher-" });
    try {
      await Deno.chmod(dir, 0o755);
      const launcher = `${dir}/launcher`;
      // id asks the kernel, not /proc, which is an empty tmpfs here.
      const text = launcherScript({ ...spec, command: ["/usr/bin/id"], runtimeDir: dir, setpriv: "/usr/bin/setpriv" });
      await Deno.writeTextFile(launcher, text, { mode: 0o755 });
      const run = async (ids: string) => {
        const script = `mount -t tmpfs none /proc && exec /usr/bin/setpriv ${ids} ${launcher}`;
        const args = ["--mount", "--propagation", "private", "/bin/sh", "-c", script];
        const out = await new Deno.Command("unshare", { args, clearEnv: true }).output();
        return { ok: out.success, id: new TextDecoder().decode(out.stdout).trim() };
      };
      assert.deepEqual(await run("--ruid=65534 --clear-groups"), {
        ok: true,
        id: "uid=0(root) gid=0(root) groups=0(root)",
      });
      // Before, a killable `id -u` child decided here; now the helper runs only as root or as a caller /proc shows.
      assert.deepEqual(await run("--reuid=65534 --regid=65534 --clear-groups"), { ok: false, id: "" });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("--serve alone gets the V8 heap cap from the launcher; a PAM call does not", async () => {
  const dir = await Deno.makeTempDir({ prefix: "netauth-launcher-" });
  try {
    const launcher = `${dir}/launcher`;
    // The "helper" prints the variable it was given.
    const command = ["/bin/sh", "-c", 'echo "v8=${DENO_V8_FLAGS-}"', "helper"];
    const text = launcherScript({ mode: "bundle", command, runtimeDir: dir, setpriv: "/usr/bin/setpriv" });
    await Deno.writeTextFile(launcher, text, { mode: 0o755 });
    const run = async (...args: string[]) =>
      new TextDecoder().decode(
        (await new Deno.Command(launcher, { args, env: { DENO_V8_FLAGS: "--hostile" } }).output()).stdout,
      ).trim();
    assert.equal(await run("--serve"), `v8=${SERVE_ENV.split("=").slice(1).join("=")}`);
    assert.equal(await run(), "v8=", "the caller's DENO_V8_FLAGS never passes, and a PAM call gets none");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

testWhere(needsRoot("only root holds capabilities to drop"), {
  name: "--serve started by hand as root keeps its ids and drops its capabilities; under its unit it has none to drop",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "netauth-launcher-" });
    try {
      await Deno.chmod(dir, 0o755);
      const launcher = `${dir}/launcher`;
      // The "broker" (--serve is its $1) prints its ids and capabilities.
      const command = ["/bin/sh", "-c", "exec /bin/grep -E '^(Uid|CapEff|CapBnd):' /proc/self/status", "broker"];
      await Deno.writeTextFile(launcher, launcherScript({ ...spec, command, runtimeDir: dir }), { mode: 0o755 });
      const run = async (prefix: string[]) => {
        const [cmd, ...args] = [...prefix, launcher, "--serve"];
        const out = await new Deno.Command(cmd, { args, clearEnv: true }).output();
        assert.ok(out.success, new TextDecoder().decode(out.stderr));
        return new TextDecoder().decode(out.stdout).replace(/\s+/g, " ").trim();
      };
      const none = "CapEff: 0000000000000000 CapBnd: 0000000000000000";
      assert.equal(await run([]), `Uid: 0 0 0 0 ${none}`);
      // As systemd starts it (CapabilityBoundingSet= empty): nothing to drop, and setpriv could not.
      const unit = ["/usr/bin/setpriv", "--inh-caps=-all", "--bounding-set=-all", "--"];
      assert.equal(await run(unit), `Uid: 0 0 0 0 ${none}`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
