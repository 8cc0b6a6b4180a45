// The log directory's rule (issue 30, 1): what install.sh and the package both refuse or accept, and how
// --verify words it. Ubuntu's /var/log is root:syslog 0775; Debian's root:root 0755.
import assert from "node:assert/strict";
import type { Fs } from "../../src/file_modes.ts";
import {
  type Accounts,
  logFileProblem,
  logGroupProblem,
  logPathProblem,
  recordedLogFile,
  walkLogDir,
} from "../../src/install/log_dir.ts";
import { namedPathChecks } from "../../src/install/verify_install.ts";

const ACCOUNTS: Accounts = {
  group: "root:x:0:\nadm:x:4:syslog,ubuntu\nstaff:x:50:\nsyslog:x:110:\nubuntu:x:1000:\n",
  passwd: "root:x:0:0:root:/root:/bin/bash\nsyslog:x:104:110::/home/syslog:/usr/sbin/nologin\n" +
    "ubuntu:x:1000:1000::/home/ubuntu:/bin/bash\n",
  loginDefs: "UID_MIN\t\t\t 1000\n",
};

/** A tree of directories: path -> [uid, gid, mode]; "/" and "/var" root's 0755. */
function tree(nodes: Record<string, [number, number, number]>): Fs {
  const all: Record<string, [number, number, number]> = { "/": [0, 0, 0o755], "/var": [0, 0, 0o755], ...nodes };
  const lstat = (path: string) => {
    const node = all[path];
    if (!node) return Promise.reject(new Deno.errors.NotFound(path));
    const [uid, gid, mode] = node;
    return Promise.resolve({ uid, gid, mode: 0o040000 | mode, isDirectory: true, isSymlink: false } as Deno.FileInfo);
  };
  return { lstat, stat: lstat, readLink: () => Promise.reject(new Error("no links")), realPath: Promise.resolve };
}

const UBUNTU = tree({ "/var/log": [0, 110, 0o775] });
const LOG = "/var/log/netauth-pam-helper.log";

Deno.test("Ubuntu's /var/log (root:syslog 0775): accepted, and --verify's ok line names the group", async () => {
  assert.equal((await walkLogDir(LOG, UBUNTU, ACCOUNTS)).state, "ok");
  const [{ check }] = await namedPathChecks({ logFile: LOG }, UBUNTU, ACCOUNTS);
  assert.deepEqual(check, {
    ok: true,
    what: "path log directory /var/log: root's and closed to others, up to / " +
      "(group syslog writes /var/log: a system log group)",
  });
  // A subdirectory of it: the same group can rename the subdirectory, so the same rule, and the same note.
  const below = tree({ "/var/log": [0, 110, 0o775], "/var/log/netauth": [0, 0, 0o755] });
  assert.equal((await walkLogDir("/var/log/netauth/x.log", below, ACCOUNTS)).state, "ok");
  // Debian's: nothing to note.
  const [debian] = await namedPathChecks({ logFile: LOG }, tree({ "/var/log": [0, 0, 0o755] }), ACCOUNTS);
  assert.equal(debian.check.what, "path log directory /var/log: root's and closed to others, up to /");
});

Deno.test("a group-writable log directory of any other group, or writable by others: refused, the reason named", async () => {
  const drift = async (dir: [number, number, number], accounts = ACCOUNTS) =>
    (await namedPathChecks({ logFile: LOG }, tree({ "/var/log": dir }), accounts))[0].check;
  assert.deepEqual(await drift([0, 4, 0o775]), {
    ok: false,
    what: "path log directory /var/log: /var/log is writable by group adm, not a system log group (syslog) " +
      "(owner uid 0, mode 775)",
  });
  assert.match((await drift([0, 50, 0o775])).what, /is writable by group staff, not a system log group/);
  assert.match((await drift([0, 4242, 0o775])).what, /is writable by its group \(gid 4242\), which \/etc\/group/);
  // syslog, but writable by others as well, or not root's: the strict rule, no exception.
  assert.match((await drift([0, 110, 0o777])).what, /\/var\/log is writable by group or others/);
  assert.match((await drift([104, 110, 0o775])).what, /\/var\/log is not owned by root/);
  // A directory above the log's may not lean on the exception for another group either.
  const above = tree({ "/var": [0, 50, 0o775], "/var/log": [0, 0, 0o755] });
  assert.match(
    (await namedPathChecks({ logFile: LOG }, above, ACCOUNTS))[0].check.what,
    /\/var is writable by group staff/,
  );
});

Deno.test("syslog with a member who is not a system account: that member's write is refused, by name", () => {
  const human = { ...ACCOUNTS, group: ACCOUNTS.group.replace("syslog:x:110:", "syslog:x:110:ubuntu") };
  assert.equal(
    logGroupProblem(110, human),
    "is writable by group syslog, whose member ubuntu (uid 1000) is not a system account (UID_MIN 1000)",
  );
  // A member by primary group, one /etc/passwd does not know, and a host whose UID_MIN is lower.
  const primary = { ...ACCOUNTS, passwd: `${ACCOUNTS.passwd}eve:x:1001:110::/home/eve:/bin/sh\n` };
  assert.match(logGroupProblem(110, primary) ?? "", /member eve \(uid 1001\)/);
  const unknown = { ...ACCOUNTS, group: ACCOUNTS.group.replace("syslog:x:110:", "syslog:x:110:ldapuser") };
  assert.match(logGroupProblem(110, unknown) ?? "", /member ldapuser is not in \/etc\/passwd/);
  assert.match(logGroupProblem(110, { ...ACCOUNTS, loginDefs: "UID_MIN 100\n" }) ?? "", /syslog \(uid 104\)/);
  assert.equal(logGroupProblem(110, ACCOUNTS), undefined);
});

Deno.test("the log file's path: an absolute word of plain characters; a link or a directory there refused", () => {
  for (const good of [LOG, "/var/lib/netauth-pam-helper/log/helper.log", "/srv/log+1/a-b_c.log"]) {
    assert.equal(logPathProblem(good), undefined, good);
  }
  for (const bad of ["var/log/x.log", "/var/log/a b.log", "/var/log/../x.log", "/var/./x", "/var/log/", "/a//b", ""]) {
    assert.match(logPathProblem(bad) ?? "", /is not an absolute path of letters, digits and \._\+-/, bad);
  }
  const dir = Deno.makeTempDirSync();
  try {
    Deno.symlinkSync("/etc/shadow", `${dir}/x.log`);
    assert.equal(
      logFileProblem("/x.log", dir),
      `${dir}/x.log is not a regular file (a symbolic link?): remove it; pam_exec appends to it as root`,
    );
    assert.equal(logFileProblem("/y.log", dir), undefined);
    // What install.sh --uninstall keeps: the log manifest.json recorded, else the default.
    Deno.writeTextFileSync(`${dir}/manifest.json`, JSON.stringify({ log: { path: "/srv/log/x.log" } }));
    assert.equal(recordedLogFile(`${dir}/manifest.json`, LOG), "/srv/log/x.log");
    assert.equal(recordedLogFile(`${dir}/none.json`, LOG), LOG);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
