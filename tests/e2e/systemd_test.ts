// The Debian package under real systemd as PID 1: a minimal Debian root (mmdebstrap, from this host's own apt
// sources; cached under ~/.cache/netauth-pam-helper/ by the package list), the .deb installed while no systemd
// runs (a container without systemd: the socket is enabled, not started, and logins go direct without a word),
// then booted with systemd-nspawn (no D-Bus needed: --register=no --keep-unit) and driven through nsenter into
// its PID 1's namespaces. It shares the host's network, so 127.0.0.1 reaches the real netauthd started here.
// Then: the first login after boot starts the broker through its socket, decision lines in journald, an upgrade
// restarts the broker, removal stops socket and service, purge leaves no unit link and /etc/pam.d as before.
// tests/e2e/deb_test.ts keeps the package's ExecStart run by hand, for hosts without systemd.
import assert from "node:assert/strict";
import { ALICE_SECRET, type NetAuthd, startNetAuthd } from "../../testkit/netauthd.ts";
import { sha256Hex } from "../../src/digest.ts";
import { e2eTest, missingPrerequisite, pamtester, ROOT, sh } from "./pam.ts";

const decoder = new TextDecoder();
const PATH = "/usr/sbin:/usr/bin:/sbin:/bin";
/** What the root holds beyond mmdebstrap's apt variant (essential packages and apt). */
const PACKAGES = ["systemd", "systemd-sysv", "pamtester", "libpam-runtime", "ca-certificates"];
const UNITS = ["netauth-pam-helper.socket", "netauth-pam-helper.service"];
const SOCKET = "/usr/lib/netauth-pam-helper/runtime/broker/socket";
const SERVICE = "netauth-systemd-e2e";
/** The container's name: systemd-nspawn keeps a directory of that name in the host's /run/systemd/nspawn/propagate. */
const MACHINE = `netauth-e2e-${Deno.pid}`;

async function missingTool(): Promise<string | undefined> {
  const tools = ["mmdebstrap", "systemd-nspawn", "nsenter", "dpkg-deb", "tar"];
  for (const tool of tools) {
    if ((await sh("sh", ["-c", `command -v ${tool}`])).code !== 0) {
      return `${tool} missing (apt-get install mmdebstrap systemd-container util-linux)`;
    }
  }
  if (!(await debianSources())) return "no Debian apt source in /etc/apt/sources.list*: mmdebstrap needs this host's";
  return undefined;
}

const missing = (await missingPrerequisite()) ?? (await missingTool());

/** This host's Debian apt sources (the files naming a /debian or /debian-security archive): CI reaches only those. */
async function debianSources(): Promise<string[] | undefined> {
  const files = ["/etc/apt/sources.list"];
  try {
    for (const entry of Deno.readDirSync("/etc/apt/sources.list.d")) {
      if (/\.(list|sources)$/.test(entry.name)) files.push(`/etc/apt/sources.list.d/${entry.name}`);
    }
  } catch {
    // no such directory
  }
  const read = (file: string) => Deno.readTextFile(file).catch(() => "");
  const debian = [];
  for (const file of files) {
    if (/^[^#]*(deb|URIs:)\s.*\/debian(-security)?\/?(\s|$)/m.test(await read(file))) debian.push(file);
  }
  return debian.length > 0 ? debian.sort() : undefined;
}

/** The root's tarball, made once per package list, suite and apt sources (`ms`: how long mmdebstrap took). */
async function cachedRoot(): Promise<{ tarball: string; ms?: number }> {
  const sources = (await debianSources())!;
  const suite = /^VERSION_CODENAME=(\S+)$/m.exec(Deno.readTextFileSync("/etc/os-release"))?.[1] ?? "bookworm";
  const key = await sha256Hex(
    new TextEncoder().encode([suite, ...PACKAGES, ...sources.map((f) => Deno.readTextFileSync(f))].join("\n")),
  );
  const cache = `${Deno.env.get("HOME") ?? "/root"}/.cache/netauth-pam-helper`;
  const tarball = `${cache}/systemd-root-${suite}-${key.slice(0, 16)}.tar`;
  if (await Deno.lstat(tarball).then((info) => info.isFile, () => false)) return { tarball };
  await Deno.mkdir(cache, { recursive: true });
  const started = performance.now();
  const partial = tarball.replace(/\.tar$/, `.partial-${Deno.pid}.tar`); // mmdebstrap reads the format from .tar
  const made = await sh("mmdebstrap", [
    "--quiet",
    "--variant=apt",
    `--include=${PACKAGES.join(",")}`,
    suite,
    partial,
    ...sources,
  ]);
  assert.equal(made.code, 0, made.output);
  await Deno.rename(partial, tarball);
  return { tarball, ms: performance.now() - started };
}

/** `deno task deb` into `outdir`, uncompressed. */
async function buildDeb(outdir: string, version: string): Promise<string> {
  const args = ["task", "--quiet", "--config", `${ROOT}deno.json`, "deb", "--outdir", outdir, "--version", version];
  const res = await sh(Deno.execPath(), [...args, "--compression", "none"]);
  assert.equal(res.code, 0, res.output);
  return `${outdir}/${[...Deno.readDirSync(outdir)].find((e) => e.name.endsWith(".deb"))!.name}`;
}

/** The root booted: systemd as its PID 1, commands run in its namespaces through nsenter. */
async function boot(dir: string) {
  const started = performance.now();
  const nspawn = new Deno.Command("systemd-nspawn", {
    args: ["--quiet", "--boot", "--register=no", "--keep-unit", "--console=pipe", `--machine=${MACHINE}`, "-D", dir],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let pid1 = "";
  for (let i = 0; i < 200 && !pid1; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    pid1 = (await Deno.readTextFile(`/proc/${nspawn.pid}/task/${nspawn.pid}/children`).catch(() => "")).trim();
  }
  assert.ok(pid1, "systemd-nspawn started no PID 1");
  const prefix = ["nsenter", `--target=${pid1.split(" ")[0]}`, "--all", "--", "env", "-i", `PATH=${PATH}`];
  const run = async (cmd: string, ...args: string[]) => {
    const out = await new Deno.Command(prefix[0], {
      args: [...prefix.slice(1), "DEBIAN_FRONTEND=noninteractive", cmd, ...args],
      stdin: "null",
      signal: AbortSignal.timeout(120_000),
    }).output();
    return { code: out.code, output: decoder.decode(out.stdout) + decoder.decode(out.stderr) };
  };
  // Until nspawn's child has become systemd and its private socket is up, systemctl says "offline" or cannot
  // connect ("Failed to connect to bus"); then --wait holds until the boot is done.
  let state = { code: 1, output: "" };
  for (let i = 0; i < 600 && !/^(running|degraded)$/.test(state.output.trim()); i++) {
    if (i > 0) await new Promise((resolve) => setTimeout(resolve, 100));
    state = await run("systemctl", "is-system-running", "--wait");
  }
  const bootMs = performance.now() - started;
  return {
    prefix,
    run,
    state: state.output.trim(),
    bootMs,
    async poweroff() {
      // Not `systemctl poweroff`: that asks logind over D-Bus first.
      await run("systemctl", "start", "--no-block", "--job-mode=replace-irreversibly", "poweroff.target");
      const ended = await Promise.race([
        nspawn.status.then(() => true),
        new Promise<false>((resolve) => setTimeout(() => resolve(false), 30_000)),
      ]);
      if (!ended) nspawn.kill("SIGKILL");
      await nspawn.status;
      await nspawn.stderr.cancel().catch(() => {});
    },
  };
}

/** A command in the root while nothing boots it (systemd-nspawn's plain container: systemd is not PID 1). */
async function inContainer(dir: string, ...cmd: string[]) {
  const out = await new Deno.Command("systemd-nspawn", {
    args: ["--quiet", "--register=no", "--keep-unit", "--console=pipe", `--machine=${MACHINE}`, "-D", dir].concat(
      ["-E", `PATH=${PATH}`],
    ).concat(
      ["-E", "DEBIAN_FRONTEND=noninteractive", ...cmd],
    ),
    stdin: "null",
    signal: AbortSignal.timeout(300_000),
  }).output();
  return { code: out.code, output: decoder.decode(out.stdout) + decoder.decode(out.stderr) };
}

/** Every file under /etc/pam.d in the root, with its hash. */
function pamFiles(dir: string): Promise<string> {
  return sh("sh", ["-c", `cd ${dir}/etc/pam.d && find . -type f -exec sha256sum {} + | sort -k 2`]).then((r) =>
    r.output
  );
}

e2eTest(
  "Debian package under systemd as PID 1: socket-activated broker, upgrade, remove, purge",
  missing,
  async (t) => {
    const work = await Deno.makeTempDir({ prefix: "netauth-systemd-e2e-" });
    const dir = `${work}/root`;
    let server: NetAuthd | undefined;
    let booted: Awaited<ReturnType<typeof boot>> | undefined;
    try {
      server = await startNetAuthd();
      const { tarball, ms } = await cachedRoot();
      console.log(ms === undefined ? `root: cached ${tarball}` : `root: mmdebstrap ${Math.round(ms)} ms`);
      await Deno.mkdir(dir);
      const untar = await sh("tar", ["-C", dir, "-xf", tarball]);
      assert.equal(untar.code, 0, untar.output);
      const debs = `${dir}/srv/debs`;
      await Deno.mkdir(debs, { recursive: true });
      const first = await buildDeb(`${debs}/v1`, "0.1.0+systemd1");
      const second = await buildDeb(`${debs}/v2`, "0.1.0+systemd2");
      const inRoot = (path: string) => path.slice(dir.length);
      // The config names localhost: the root has no /etc/hosts of its own.
      await Deno.writeTextFile(`${dir}/etc/hosts`, "127.0.0.1 localhost\n::1 localhost\n");
      await sh("cp", ["-r", server.clientConfigDir, `${dir}/etc/netauth`]);
      await sh("chmod", ["-R", "go-w", `${dir}/etc/netauth`]);
      await Deno.writeTextFile(`${dir}/etc/pam.d/${SERVICE}`, "@include common-auth\n@include common-account\n");
      const pamBefore = await pamFiles(dir);
      const logFile = `${dir}/var/log/netauth-pam-helper.log`;
      /** The log's size now, and its decision lines since a size (pam_exec adds its own `*** DATE` lines). */
      const logSize = () => Deno.stat(logFile).then((info) => info.size, () => 0);
      const linesSince = async (from: number) =>
        (await Deno.readTextFile(logFile).catch(() => "")).slice(from).split("\n").filter((l) =>
          l.startsWith("level=")
        );

      await t.step(
        "installed where systemd is not PID 1: the socket enabled, not started; logins go direct",
        async () => {
          const res = await inContainer(dir, "apt-get", "install", "-y", "-q", inRoot(first));
          assert.equal(res.code, 0, res.output);
          const links = await sh("sh", ["-c", `cd ${dir} && ls etc/systemd/system/*/netauth-pam-helper.*`]);
          assert.equal(links.output.trim(), "etc/systemd/system/sockets.target.wants/netauth-pam-helper.socket");
          const from = await logSize();
          const login = await inContainer(
            dir,
            "sh",
            "-c",
            `echo '${ALICE_SECRET}' | pamtester ${SERVICE} alice authenticate`,
          );
          assert.equal(login.code, 0, login.output);
          const [line] = await linesSince(from);
          assert.match(line, /path=direct (source=netauth )?outcome=authenticated exit=0/);
          assert.doesNotMatch(line, /broker=/, "no broker on this host: no word about it");
        },
      );

      await t.step("booted: the socket listens, the broker is not running yet", async () => {
        booted = await boot(dir);
        console.log(`boot to ${booted.state}: ${Math.round(booted.bootMs)} ms`);
        assert.match(booted.state, /^(running|degraded)$/);
        const active = await booted.run("systemctl", "is-active", ...UNITS);
        assert.equal(active.output.trim(), "active\ninactive", active.output);
        const socket = await booted.run("stat", "-c", "%F %u %a", SOCKET, SOCKET.replace(/\/socket$/, ""));
        assert.equal(socket.output.trim(), "socket 0 600\ndirectory 0 700");
      });

      await t.step(
        "the first login after boot starts the broker and goes through it; journald has its line",
        async () => {
          const from = await logSize();
          const first = await pamtester(SERVICE, "alice", "authenticate", ALICE_SECRET, booted!.prefix);
          assert.equal(first.code, 0, first.output);
          const second = await pamtester(SERVICE, "alice", "authenticate", ALICE_SECRET, booted!.prefix);
          assert.equal(second.code, 0, second.output);
          console.log(`first login after boot: ${Math.round(first.ms)} ms; the next: ${Math.round(second.ms)} ms`);
          const lines = await linesSince(from);
          assert.equal(lines.length, 2, lines.join("\n"));
          for (const line of lines) assert.match(line, /path=broker outcome=authenticated exit=0/);
          assert.equal((await booted!.run("systemctl", "is-active", UNITS[1])).output.trim(), "active");
          const journal = await booted!.run("journalctl", "--no-pager", "-o", "cat", "-u", UNITS[1]);
          assert.match(journal.output, /msg="broker listening" socket=\S+ from=systemd/);
          assert.match(journal.output, /entity=alice service=netauth-systemd-e2e .*outcome=authenticated exit=0/);
          assert.ok(!journal.output.includes(ALICE_SECRET), "the password reached the journal");
        },
      );

      await t.step("an upgrade restarts the broker onto the new build; logins still go through it", async () => {
        const pid = async () => (await booted!.run("systemctl", "show", "-P", "MainPID", UNITS[1])).output.trim();
        const before = await pid();
        const res = await booted!.run("apt-get", "install", "-y", "-q", inRoot(second));
        assert.equal(res.code, 0, res.output);
        const after = await pid();
        assert.notEqual(after, before, "the broker was not restarted");
        const from = await logSize();
        const login = await pamtester(SERVICE, "alice", "authenticate", ALICE_SECRET, booted!.prefix);
        assert.equal(login.code, 0, login.output);
        assert.match((await linesSince(from)).join("\n"), /path=broker outcome=authenticated exit=0/);
        assert.notEqual(await pid(), "0");
      });

      await t.step("apt-get remove stops socket and service; the socket is gone", async () => {
        const res = await booted!.run("apt-get", "remove", "-y", "-q", "netauth-pam-helper");
        assert.equal(res.code, 0, res.output);
        const active = await booted!.run("systemctl", "is-active", ...UNITS);
        assert.equal(active.output.trim(), "inactive\ninactive", active.output);
        const left = await booted!.run("sh", "-c", `ls ${SOCKET} 2>&1`);
        assert.notEqual(left.code, 0, left.output);
      });

      await t.step("apt-get purge: no unit link under /etc/systemd, /etc/pam.d as before", async () => {
        const res = await booted!.run("apt-get", "purge", "-y", "-q", "netauth-pam-helper");
        assert.equal(res.code, 0, res.output);
        const links = await booted!.run("find", "/etc/systemd", "-name", "netauth-pam-helper*");
        assert.equal(links.output, "", links.output);
        assert.equal(await pamFiles(dir), pamBefore);
      });
    } finally {
      await booted?.poweroff();
      await server?.cleanup();
      await Deno.remove(work, { recursive: true }).catch(() => {});
      await Deno.remove(`/run/systemd/nspawn/propagate/${MACHINE}`, { recursive: true }).catch(() => {});
    }
  },
);
