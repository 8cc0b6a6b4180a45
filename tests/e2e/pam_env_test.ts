// LD_PRELOAD through the PAM environment (issue 16): pam_env sets it from an env file when credentials are
// set, and a later authenticate on the same PAM handle runs the helper's line with it. A small library that
// records every process it loads into stands in for the attacker's. With pam_exec's `seteuid` (the old lines)
// it loads into the launcher as root under su; with the shipped lines the kernel's secure-exec keeps it out.
import assert from "node:assert/strict";
import { ALICE_SECRET, type NetAuthd, startNetAuthd } from "../../testkit/netauthd.ts";
import { e2eTest, installHelper, missingPrerequisite, pamtester, ROOT, sh, shippedPamExecLines } from "./pam.ts";

const missing = await missingPrerequisite() ??
  ((await sh("sh", ["-c", "command -v gcc"])).code === 0 ? undefined : "gcc not installed");

const MARKER_C = `#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
__attribute__((constructor)) static void mark(void) {
  char line[64];
  int fd = open(MARKER, O_WRONLY | O_CREAT | O_APPEND, 0666);
  if (fd < 0) return;
  int n = snprintf(line, sizeof line, "ruid=%d euid=%d\\n", (int)getuid(), (int)geteuid());
  if (n > 0) write(fd, line, n);
  close(fd);
}
`;

// su and sudo: the caller's real uid and gids, effective uid root. A screen locker: the user's own ids.
const AS_SU = ["setpriv", "--ruid=65534", "--regid=65534", "--clear-groups"];
const AS_LOCKER = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"];

e2eTest("LD_PRELOAD from the PAM environment never loads into the helper as root under su", missing, async (t) => {
  const service = `netauth-pamenv-${Deno.pid}`;
  const dir = await Deno.makeTempDir({ prefix: "netauth-pamenv-" });
  const prefix = `${dir}/prefix`;
  let server: NetAuthd | undefined;
  try {
    await Deno.chmod(dir, 0o1777); // whoever the library loads into can record it
    Deno.mkdirSync(prefix, { mode: 0o755 });
    const marker = `${dir}/marker`;
    Deno.writeTextFileSync(`${dir}/marker.c`, MARKER_C);
    const gcc = await sh("gcc", [
      "-shared",
      "-fPIC",
      `-DMARKER="${marker}"`,
      "-o",
      `${dir}/marker.so`,
      `${dir}/marker.c`,
    ]);
    assert.equal(gcc.code, 0, gcc.output);
    Deno.writeTextFileSync(`${dir}/env`, `LD_PRELOAD=${dir}/marker.so\n`);
    server = await startNetAuthd();
    // The client config where an unprivileged locker may read it (netauthd's own directory is root's alone).
    const conf = `${dir}/conf`;
    Deno.mkdirSync(`${conf}/keys`, { recursive: true, mode: 0o755 });
    Deno.copyFileSync(server.clientConfig, `${conf}/config.toml`);
    Deno.copyFileSync(`${server.clientConfigDir}/keys/tls.pem`, `${conf}/keys/tls.pem`);
    await installHelper(prefix, conf);
    const launcher = `${prefix}/sbin/netauth-pam-helper`;

    /** pam_env, then the shipped pam_exec lines (`required`, so a failure fails), as `edit` leaves them. */
    const stack = (edit: (line: string) => string) => {
      const shipped = shippedPamExecLines(launcher, `${prefix}/pam.log`).map(edit);
      const pamEnv = `auth optional pam_env.so readenv=1 envfile=${dir}/env user_readenv=0 conffile=/dev/null`;
      Deno.writeTextFileSync(`/etc/pam.d/${service}`, [pamEnv, ...shipped, ""].join("\n"));
    };
    const loads = () => Deno.readTextFileSync(marker).trim().split("\n");
    const clearMarker = () => Deno.removeSync(marker);
    const auth = (password: string, prefix: string[]) =>
      pamtester(service, "alice", ["setcred", "authenticate", "acct_mgmt"], password, prefix);

    await t.step("the control: with seteuid (the old lines) it loads into the launcher as root under su", async () => {
      stack((line) => line.replace(" quiet ", " quiet seteuid "));
      assert.equal((await auth(ALICE_SECRET, AS_SU)).code, 0);
      assert.ok(loads().includes("ruid=0 euid=0"), loads().join("; "));
      clearMarker();
    });

    await t.step("the shipped lines under su: right and wrong passwords decide, nothing loads", async () => {
      stack((line) => line);
      assert.doesNotMatch(Deno.readTextFileSync(`/etc/pam.d/${service}`), /seteuid/);
      const right = await auth(ALICE_SECRET, AS_SU);
      assert.equal(right.code, 0, right.output);
      const wrong = await auth("not-her-password", AS_SU);
      assert.notEqual(wrong.code, 0, wrong.output);
      assert.match(Deno.readTextFileSync(`${prefix}/pam.log`), /outcome=denied exit=7 /);
      assert.throws(() => Deno.statSync(marker), Deno.errors.NotFound, "the library loaded under su");
    });

    await t.step("a screen locker (the user's own uid): logins decide, a load runs as the user only", async () => {
      // A locker cannot open root's log= file: its lines log to one of its own.
      stack((line) => line.replace(/ log=\S+/, ` log=${dir}/locker.log`));
      const right = await auth(ALICE_SECRET, AS_LOCKER);
      assert.equal(right.code, 0, right.output + Deno.readTextFileSync(`${dir}/locker.log`));
      assert.notEqual((await auth("not-her-password", AS_LOCKER)).code, 0);
      const asRoot = (() => {
        try {
          return loads().filter((line) => !line.endsWith("euid=65534"));
        } catch {
          return [];
        }
      })();
      assert.deepEqual(asRoot, []);
    });

    await t.step("a root caller (sshd, login): logins decide; the PAM environment is root's", async () => {
      stack((line) => line);
      assert.equal((await auth(ALICE_SECRET, [])).code, 0);
      assert.notEqual((await auth("not-her-password", [])).code, 0);
      // Not defended, and docs/security.md says so: no exec by a root process is secure-exec, so the loader honours
      // LD_PRELOAD. Only a root-owned module or env file (or pam_env's user_readenv) can put it there.
      assert.ok(loads().includes("ruid=0 euid=0"), "docs/security.md's 'not defended' no longer holds: update it");
    });
  } finally {
    await Deno.remove(`/etc/pam.d/${service}`).catch(() => {});
    await sh(`${ROOT}install.sh`, ["--uninstall", "--prefix", prefix]);
    await server?.cleanup();
    await Deno.remove(dir, { recursive: true });
  }
});
