// Admission control in the launcher (src/install/launcher.ts): at most N helpers at once, the rest wait for a slot
// until their deadline. Each launcher runs under /bin/sh with a harmless command in the helper's place.
import assert from "node:assert/strict";
import { admissionScript, chosenLoginSlots, launcherScript } from "../../src/install/launcher.ts";
import { needsRoot, testWhere } from "../../testkit/skip.ts";

const decoder = new TextDecoder();
const onPath = (tool: string) => new Deno.Command("sh", { args: ["-c", `command -v ${tool}`] }).outputSync().success;

/** A runtime directory with a launcher of `slots` slots in front of `command`; removed after `fn`. */
async function withLauncher(
  slots: number,
  command: string[],
  fn: (at: { dir: string; launcher: string; slotDir: string }) => Promise<void>,
) {
  const dir = await Deno.makeTempDir({ prefix: "netauth-admission-" });
  try {
    await Deno.chmod(dir, 0o755); // a caller without root must be able to run it
    const launcher = `${dir}/launcher`;
    const text = launcherScript({
      mode: "bundle",
      command,
      runtimeDir: dir,
      setpriv: "/usr/bin/setpriv",
      loginSlots: slots,
    });
    await Deno.writeTextFile(launcher, text, { mode: 0o755 });
    await fn({ dir, launcher, slotDir: `${dir}/slots` });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Runs the launcher (through `prefix`) with `args`; exit code, stdout, stderr. */
async function run(launcher: string, args: string[], prefix: string[] = [], env: Record<string, string> = {}) {
  const [cmd, ...rest] = [...prefix, launcher, ...args];
  const out = await new Deno.Command(cmd, { args: rest, clearEnv: true, env: { PAM_TYPE: "auth", ...env } }).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** Holds every slot in `slotDir` (0..n-1) from processes of its own, as running helpers would; `release` frees them. */
async function holdSlots(slotDir: string, n: number) {
  await Deno.mkdir(slotDir, { recursive: true, mode: 0o700 });
  const holders = [...Array(n).keys()].map((i) =>
    new Deno.Command("/usr/bin/flock", { args: ["-o", `${slotDir}/${i}`, "/bin/sleep", "60"] }).spawn()
  );
  await new Promise((r) => setTimeout(r, 200)); // each flock has its lock
  return {
    release: async () => {
      for (const holder of holders) holder.kill("SIGKILL");
      await Promise.all(holders.map((h) => h.status));
    },
  };
}

/** The "helper": notes when it starts and ends (epoch ms) and the wait it was told, then sleeps `seconds`. */
function noting(log: string, seconds: number): string[] {
  const script = `echo "start $(/usr/bin/date +%s%3N) waited=\${NETAUTH_WAITED_MS-none}" >>${log}; ` +
    `/bin/sleep ${seconds}; echo "end $(/usr/bin/date +%s%3N)" >>${log}`;
  return ["/bin/sh", "-c", script, "helper"];
}

/** The most "helpers" that ran at once, from `noting`'s log. */
function mostAtOnce(log: string): number {
  const events = Deno.readTextFileSync(log).trim().split("\n").map((line) => {
    const [what, at] = line.split(" ");
    return { at: Number(at), delta: what === "start" ? 1 : -1 };
  }).sort((a, b) => a.at - b.at || a.delta - b.delta);
  let now = 0, most = 0;
  for (const e of events) most = Math.max(most, now += e.delta);
  return most;
}

testWhere(onPath("shellcheck") ? undefined : "shellcheck not installed", {
  name: "the admission script, which a shellcheck of the launcher cannot see inside its quotes, is clean",
  async fn() {
    const out = await new Deno.Command("shellcheck", { args: ["-s", "sh", "-"], stdin: "piped", stdout: "piped" })
      .spawn();
    const writer = out.stdin.getWriter();
    await writer.write(new TextEncoder().encode(admissionScript("/usr/bin/flock")));
    await writer.close();
    const result = await out.output();
    assert.ok(result.success, decoder.decode(result.stdout));
  },
});

Deno.test("a launcher says which slot count the admin chose; a default or no admission is no choice", () => {
  const spec = { mode: "bundle" as const, command: ["/bin/true"], runtimeDir: "/r", setpriv: "/usr/bin/setpriv" };
  assert.equal(chosenLoginSlots(launcherScript({ ...spec, loginSlots: 6, slotsChosen: true })), 6);
  assert.equal(chosenLoginSlots(launcherScript({ ...spec, loginSlots: 6 })), undefined);
  assert.equal(chosenLoginSlots(launcherScript(spec)), undefined);
});

testWhere(needsRoot("admission control runs only as root"), {
  name: "at most N helpers at once: the others wait for a slot, run, and are told how long they waited",
  async fn() {
    await withLauncher(2, [], async () => {}); // the directory helper itself works
    const dir = await Deno.makeTempDir({ prefix: "netauth-admission-log-" });
    try {
      const log = `${dir}/log`;
      await withLauncher(2, noting(log, 0.5), async ({ launcher, slotDir }) => {
        const results = await Promise.all([...Array(5)].map(() => run(launcher, ["--timeout", "10"])));
        assert.deepEqual(results.map((r) => r.code), [0, 0, 0, 0, 0], results.map((r) => r.stderr).join(""));
        assert.equal(mostAtOnce(log), 2);
        const waited = [...Deno.readTextFileSync(log).matchAll(/waited=(\d+)/g)].map((m) => Number(m[1]));
        assert.equal(waited.length, 5);
        assert.equal(waited.filter((ms) => ms === 0).length, 2, `waits: ${waited}`);
        assert.ok(waited.filter((ms) => ms >= 400).length >= 2, `waits: ${waited}`);
        // Root's alone: no one else can open a slot file, so no one else can hold its lock.
        const info = Deno.statSync(slotDir);
        assert.deepEqual([info.uid, (info.mode ?? 0) & 0o777], [0, 0o700]);
        for (const slot of ["0", "1"]) {
          const file = Deno.statSync(`${slotDir}/${slot}`);
          assert.deepEqual([file.uid, (file.mode ?? 0) & 0o777], [0, 0o600]);
        }
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

testWhere(needsRoot("admission control runs only as root"), {
  name: "no slot before the deadline (less the reserve): exit 9 with a decision line, and the helper never starts",
  async fn() {
    await withLauncher(2, ["/bin/echo", "helper ran"], async ({ launcher, slotDir }) => {
      const held = await holdSlots(slotDir, 2);
      try {
        const started = Date.now();
        const late = await run(launcher, ["--timeout=1.5"], [], { PAM_USER: "alice", PAM_SERVICE: "su" });
        const took = Date.now() - started;
        assert.equal(late.code, 9, late.stderr);
        assert.equal(late.stdout, "");
        const line = late.stderr.trim();
        assert.match(
          line,
          /^level=error msg="no login slot free before the deadline" entity=alice service=su type=auth outcome=deadline exit=9 waited=\d+ ms=\d+$/,
        );
        const ms = Number(line.match(/ ms=(\d+)/)![1]);
        assert.ok(
          ms >= 700 && ms < 1500 && took < 1500,
          `gave up after ${ms} ms (took ${took}): inside 1.5 s less 0.7`,
        );
        // A timeout the helper would refuse waits as long as the default; one already spent gives up at once.
        // A PAM_USER logfmt would have to quote is left out of the launcher's line, not written raw.
        const spent = await run(launcher, ["--timeout", "0.5"], [], { PAM_USER: 'x" outcome=ok\nlevel=info' });
        assert.equal(spent.code, 9, spent.stderr);
        assert.match(
          spent.stderr,
          /^level=error msg="[^"]+" type=auth outcome=deadline exit=9 waited=\d{1,2} ms=\d+\n$/,
        );
      } finally {
        await held.release();
      }
      // Slots free again: the next login starts at once.
      const next = await run(launcher, []);
      assert.deepEqual([next.code, next.stdout], [0, "helper ran\n"]);
    });
  },
});

testWhere(needsRoot("only root can start the launcher with a caller's real uid and root's effective uid"), {
  name: "a caller without root (screen locker) and the broker run without a slot; a su-style caller waits for one",
  async fn() {
    const env = ["/bin/sh", "-c", 'echo "waited=${NETAUTH_WAITED_MS-none}"', "helper"];
    await withLauncher(1, env, async ({ launcher, slotDir }) => {
      const held = await holdSlots(slotDir, 1);
      try {
        const locker = await run(launcher, [], ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]);
        assert.deepEqual([locker.code, locker.stdout], [0, "waited=none\n"], locker.stderr);
        const broker = await run(launcher, ["--serve"]);
        assert.deepEqual([broker.code, broker.stdout], [0, "waited=none\n"], broker.stderr);
        const su = await run(launcher, ["--timeout", "1"], ["setpriv", "--ruid=65534", "--clear-groups"]);
        assert.equal(su.code, 9, su.stderr);
        assert.match(su.stderr, /outcome=deadline/);
      } finally {
        await held.release();
      }
    });
  },
});

testWhere(needsRoot("admission control runs only as root"), {
  name: "a login stopped from its terminal (its process group) neither keeps its slot nor blocks the next login",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "netauth-admission-log-" });
    try {
      const log = `${dir}/log`;
      await withLauncher(1, noting(log, 1), async ({ launcher, slotDir }) => {
        /** A login in a process group of its own, as su's is in the terminal's foreground: Ctrl-Z stops it all. */
        const login = () => {
          const child = new Deno.Command("/usr/bin/setsid", {
            args: [launcher, "--timeout", "4"],
            clearEnv: true,
            stderr: "piped",
          }).spawn();
          return { child, stop: () => groupSignal(child.pid, "STOP"), cont: () => groupSignal(child.pid, "CONT") };
        };
        // Holding the slot: stopped while its helper runs.
        const holder = login();
        await until(() => Deno.readTextFile(log).then((t) => t.includes("start"), () => false));
        await holder.stop();
        const next = await run(launcher, ["--timeout", "8"]);
        assert.equal(next.code, 0, `the next login got no slot: ${next.stderr}`);
        await holder.cont();
        assert.equal((await holder.child.output()).code, 0);
        // Waiting for the slot: stopped while another holds it, which then lets go.
        const held = await holdSlots(slotDir, 1);
        const waiter = login();
        await new Promise((r) => setTimeout(r, 300));
        await waiter.stop();
        await held.release();
        const after = await run(launcher, ["--timeout", "8"]);
        assert.equal(after.code, 0, `a stopped waiter blocked the next login: ${after.stderr}`);
        await waiter.cont();
        await waiter.child.output();
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

async function groupSignal(pgid: number, signal: string) {
  const out = await new Deno.Command("/bin/kill", { args: [`-${signal}`, "--", `-${pgid}`] }).output();
  assert.ok(out.success, decoder.decode(out.stderr));
}

async function until(check: () => Promise<boolean>, ms = 5000) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 20));
  }
}
