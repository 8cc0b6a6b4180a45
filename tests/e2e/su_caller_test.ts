// A local attacker under su: pamtester runs as root with the real uid of an unprivileged caller, the way
// su and sudo call PAM, through pam_exec.so with the Debian profile's own lines, against the real netauthd.
// The caller must not own the helper process, nor steer it through anything in its home or in /tmp.
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { ALICE_SECRET, type NetAuthd, startNetAuthd } from "../../testkit/netauthd.ts";
import {
  addLocalUser,
  debianCommonStack,
  e2eTest,
  installHelper,
  missingPrerequisite,
  pamtester,
  removeLocalUser,
  ROOT,
  sh,
} from "./pam.ts";

const missing = await missingPrerequisite();

/**
 * Debian's common-auth and common-account with the netauth profile (tests/e2e/pam.ts), for the helper at `helper`;
 * `oldSeteuid` adds the seteuid the lines carried before issue 16 (the launcher must hold either way).
 */
function debianProfileStack(helper: string, oldSeteuid: boolean): string {
  const stack = debianCommonStack((line) => {
    let out = line.replace("/usr/local/sbin/netauth-pam-helper", helper);
    assert.doesNotMatch(out, /seteuid/);
    if (oldSeteuid) out = out.replace(" quiet ", " quiet seteuid ");
    return out;
  });
  // alice has no NSS entry here: Debian's pam_unix account rule (and its pam_deny) would refuse her before the
  // helper's. tests/e2e/sshd_test.ts runs the whole account phase with NSS entries.
  return stack.split("\n").filter((line) => !/^account\t.*(pam_unix|pam_deny)\.so/.test(line)).join("\n");
}

/** Every path below `dir` with its size and mtime: what the caller's home looked like. */
function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (path: string) => {
    for (const e of Deno.readDirSync(path)) {
      const full = `${path}/${e.name}`;
      const info = Deno.lstatSync(full);
      out.push(`${full} ${info.size} ${info.mtime?.getTime()}`);
      if (e.isDirectory) walk(full);
    }
  };
  walk(dir);
  return out.sort();
}

/** /tmp entries the runtime could have made for this login: the caller's, or named like Deno's. */
function runtimeLitter(uid: number): string[] {
  return [...Deno.readDirSync("/tmp")].map((e) => e.name).filter((name) =>
    /deno/i.test(name) || Deno.lstatSync(`/tmp/${name}`).uid === uid
  ).sort();
}

e2eTest(
  "su-style caller: right and wrong passwords, a root-owned helper, nothing the caller plants counts",
  missing,
  async (t) => {
    const tag = `netauth-su-${Deno.pid}`;
    const prefix = await Deno.makeTempDir({ prefix: "netauth-prefix-" });
    await Deno.chmod(prefix, 0o755); // like /usr/local: everyone may read the installed helper
    const callerName = `nacaller${Deno.pid % 100000}`;
    const services = { profile: tag, oldSeteuid: `${tag}-seteuid` };
    let server: NetAuthd | undefined;
    try {
      server = await startNetAuthd();
      await installHelper(prefix, server.clientConfigDir);
      const helper = `${prefix}/sbin/netauth-pam-helper`;
      const bundle = `${prefix}/lib/netauth-pam-helper/netauth-pam-helper.js`;
      await Deno.writeTextFile(`/etc/pam.d/${services.profile}`, debianProfileStack(helper, false));
      await Deno.writeTextFile(`/etc/pam.d/${services.oldSeteuid}`, debianProfileStack(helper, true));
      const caller = await addLocalUser(callerName, { home: true });
      const home = `/home/${callerName}`;
      // su and sudo: real uid and every gid the caller's, effective uid root.
      const asSu = ["setpriv", `--ruid=${caller.uid}`, `--regid=${caller.gid}`, "--init-groups"];
      const asCaller = ["setpriv", `--reuid=${caller.uid}`, `--regid=${caller.gid}`, "--init-groups"];

      await t.step(
        "the caller plants a code cache that makes the bundle exit 0 (it does, run the old way)",
        async () => {
          // The old launcher let `deno run` take DENO_DIR from the caller's home. Make the bundle's entry there,
          // then give it the compiled code of a same-length script: V8 checks only the length.
          const userDeno = (args: string[], env: Record<string, string> = {}) =>
            sh(asCaller[0], [
              ...asCaller.slice(1),
              "env",
              "-i",
              `HOME=${home}`,
              ...envList(env),
              Deno.execPath(),
              "run",
              "--quiet",
              ...args,
            ]);
          const request = { PAM_TYPE: "auth", PAM_USER: "alice", PAM_SERVICE: tag };
          // A run that awaits I/O (reading a file) before it exits, so Deno gets to write the module's code cache.
          const runBundle = () =>
            userDeno(["--allow-env", "--allow-read", bundle, "--config", "/etc/hostname"], request);
          const size = Deno.statSync(bundle).size;
          const head = "const exit = Deno.exit; Deno.exit = () => exit(0); /*";
          const planted = `${home}/same-length.js`;
          Deno.writeTextFileSync(planted, head + " ".repeat(size - head.length - 2) + "*/");
          Deno.chownSync(planted, caller.uid, caller.gid);
          const cacheDb = `${home}/.cache/deno/v8_code_cache_v2`;
          const bundleEntry = await untilCached(cacheDb, bundle, runBundle);
          const plantedEntry = await untilCached(cacheDb, planted, () => userDeno([planted]));
          const db = new DatabaseSync(cacheDb);
          db.prepare("UPDATE codecache SET data = ? WHERE specifier = ?").run(plantedEntry, `file://${bundle}`);
          db.close();
          assert.notDeepEqual(bundleEntry, plantedEntry);
          // The control: with that cache, the bundle accepts a wrong password.
          const poisoned = await runBundle();
          assert.equal(
            poisoned.code,
            0,
            `the planted cache no longer works, so this test proves nothing: ${poisoned.output}`,
          );
        },
      );

      const homeBefore = snapshot(home);
      const tmpBefore = runtimeLitter(caller.uid);
      for (const [label, service] of Object.entries(services)) {
        await t.step(`${label}: the right password passes, a wrong one fails, the account is checked`, async () => {
          assert.equal((await pamtester(service, "alice", "authenticate", ALICE_SECRET, asSu)).code, 0);
          const wrong = await pamtester(service, "alice", "authenticate", "not-her-password", asSu);
          assert.notEqual(wrong.code, 0, wrong.output);
          assert.match(wrong.output, /Authentication failure/);
          assert.equal((await pamtester(service, "alice", "acct_mgmt", "", asSu)).code, 0);
          assert.notEqual((await pamtester(service, "zed", "acct_mgmt", "", asSu)).code, 0);
        });
        await t.step(
          `${label}: the helper runs with every uid root; the caller can neither trace nor signal it`,
          async () => {
            server!.freeze(); // the helper waits for NetAuth, so it can be looked at
            const login = pamtester(service, "alice", "authenticate", ALICE_SECRET, asSu);
            try {
              const pid = await waitForProcess(bundle);
              const status = Deno.readTextFileSync(`/proc/${pid}/status`);
              assert.match(status, /^Uid:\s+0\s+0\s+0\s+0$/m, status);
              assert.match(status, /^Gid:\s+0\s+0\s+0\s+0$/m, status);
              // Opening /proc/PID/mem takes the same check as PTRACE_ATTACH.
              const trace = await sh(asCaller[0], [...asCaller.slice(1), "sh", "-c", `exec 3</proc/${pid}/mem`]);
              assert.match(
                trace.output,
                /Permission denied/,
                `the caller could open the helper's memory: ${trace.output}`,
              );
              const signal = await sh(asCaller[0], [...asCaller.slice(1), "kill", "-0", String(pid)]);
              assert.notEqual(signal.code, 0, "the caller may signal the helper");
            } finally {
              server!.thaw();
            }
            assert.equal((await login).code, 0);
          },
        );
      }
      await t.step("nothing was written to the caller's home or to /tmp", () => {
        assert.deepEqual(snapshot(home), homeBefore);
        assert.deepEqual(runtimeLitter(caller.uid), tmpBefore);
      });
    } finally {
      for (const service of Object.values(services)) await Deno.remove(`/etc/pam.d/${service}`).catch(() => {});
      await removeLocalUser(callerName);
      await sh(`${ROOT}install.sh`, ["--uninstall", "--prefix", prefix]);
      await server?.cleanup();
      await Deno.remove(prefix, { recursive: true });
    }
  },
);

/** Runs `run` until Deno's code cache in `db` holds an entry for `file` (at most 10 times); gives its data. */
async function untilCached(db: string, file: string, run: () => Promise<unknown>): Promise<Uint8Array> {
  for (let attempt = 0; attempt < 10; attempt++) {
    await run();
    const cache = await Deno.stat(db).then(() => new DatabaseSync(db, { readOnly: true }), () => undefined);
    const data = cache?.prepare("SELECT data FROM codecache WHERE specifier = ?").get(`file://${file}`)?.data;
    cache?.close();
    if (data) return data as Uint8Array;
  }
  throw new Error(`deno wrote no code cache entry for ${file} in 10 runs`);
}

function envList(env: Record<string, string>): string[] {
  return Object.entries(env).map(([k, v]) => `${k}=${v}`);
}

/** The pid of the Deno process running `script` (past the launcher's env and setpriv), within 10 s. */
async function waitForProcess(script: string): Promise<number> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    for (const entry of Deno.readDirSync("/proc")) {
      if (!/^\d+$/.test(entry.name)) continue;
      const cmdline = await Deno.readTextFile(`/proc/${entry.name}/cmdline`).catch(() => "");
      const argv = cmdline.split("\0");
      if (argv[0].endsWith("/deno") && argv.includes(script)) return Number(entry.name);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no process runs ${script}`);
}
