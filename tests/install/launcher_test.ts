// The launcher text, and the launcher itself run by /bin/sh with a harmless command in the helper's place.
import assert from "node:assert/strict";
import { launcherScript, shellWord } from "../../src/install/launcher.ts";
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
  // The effective uid comes from the shell's own /proc/PID/status, not from a child the caller could kill.
  assert.match(text, /^\{ while IFS='\t' read -r key _ eff _; do .* done <\/proc\/\$\$\/status; \} 2>\/dev\/null$/m);
  assert.match(
    text,
    /^if \[ "\$euid" = 0 \]; then as_root='\/usr\/bin\/setpriv --reuid=0 --regid=0 --clear-groups --'; fi$/m,
  );
  assert.match(
    text,
    /^exec \/usr\/bin\/env -i HOME=\/usr\/local\/lib\/netauth-pam-helper\/runtime\/home DENO_DIR=\/usr\/local\/lib\/netauth-pam-helper\/runtime\/deno TMPDIR=\/usr\/local\/lib\/netauth-pam-helper\/runtime\/tmp DENO_NO_UPDATE_CHECK=1 \\$/m,
  );
  assert.match(
    text,
    /^ {2}\$as_root \/usr\/bin\/deno run --allow-read=\/etc\/netauth \/lib\/h.js --config \/etc\/netauth\/config.toml "\$@"$/m,
  );
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
