import assert from "node:assert/strict";
import {
  backupName,
  type Context,
  installDecisions,
  ownerOf,
  type PathFacts,
  readRecords,
  type Records,
  uninstallDecisions,
} from "../../src/install/host_files.ts";

const LOGROTATE = "/etc/logrotate.d/netauth-pam-helper";
const UNIT = "/etc/systemd/system/netauth-pam-helper.service";
const PROFILE = "/usr/share/pam-configs/netauth";
const MAN = "/opt/x/share/man/man8/netauth-pam-helper.8";
const ctx: Context = { lib: "/opt/x/lib/netauth-pam-helper", destdir: "", force: false };

function records(recorded: Record<string, string> = {}, packageFiles: string[] = []): Records {
  return {
    recorded: new Set(Object.keys(recorded)),
    hashes: new Map(Object.entries(recorded)),
    packageFiles: new Set(packageFiles),
  };
}

Deno.test("a host-wide file is ours only when recorded with the hash it has now", () => {
  const ours = records({ [LOGROTATE]: "aa" });
  assert.equal(ownerOf({ path: LOGROTATE }, ours), "absent");
  assert.equal(ownerOf({ path: LOGROTATE, sha256: "aa" }, ours), "ours");
  assert.equal(ownerOf({ path: LOGROTATE, sha256: "bb" }, ours), "foreign", "changed since");
  assert.equal(ownerOf({ path: LOGROTATE, sha256: "aa" }, records()), "foreign", "another install's, same bytes");
  assert.equal(ownerOf({ path: LOGROTATE, sha256: null }, ours), "foreign", "a symbolic link or a directory");
  const recordedNoHash: Records = { ...ours, hashes: new Map() };
  assert.equal(ownerOf({ path: LOGROTATE, sha256: "aa" }, recordedNoHash), "foreign", "no manifest.json hash");
});

Deno.test("what the Debian package lists is the package's, even when gone or recorded by us", () => {
  const pkg = records({ [LOGROTATE]: "aa" }, [LOGROTATE, "/lib/systemd/system/netauth-pam-helper.service"]);
  assert.equal(ownerOf({ path: LOGROTATE, sha256: "aa" }, pkg), "package");
  assert.equal(ownerOf({ path: LOGROTATE }, pkg), "package");
  // Our unit in /etc would override the package's in /lib (systemd prefers /etc).
  assert.equal(ownerOf({ path: UNIT }, pkg), "package");
  assert.equal(ownerOf({ path: PROFILE }, pkg), "absent");
});

Deno.test("backups are named by directory and file; the profile's keeps its earlier name", () => {
  assert.equal(backupName(PROFILE), "pam-configs-netauth.orig");
  assert.equal(backupName(LOGROTATE), "logrotate.d-netauth-pam-helper.orig");
  assert.equal(backupName(UNIT), "system-netauth-pam-helper.service.orig");
  assert.equal(backupName(MAN), "man8-netauth-pam-helper.8.orig");
});

Deno.test("install: someone else's file is refused without --force, kept as a backup with it", () => {
  const targets: PathFacts[] = [{ path: LOGROTATE, sha256: "other" }, { path: MAN }, { path: UNIT, sha256: "u" }];
  const rec = records({ [UNIT]: "u" });
  const refused = installDecisions(targets, [], rec, ctx);
  assert.deepEqual(refused, [[
    "refuse",
    `${LOGROTATE} exists and install.sh did not write it for this install (another install.sh --prefix's, or the ` +
    `admin's): pass --force to replace it (it is kept in ${ctx.lib}/logrotate.d-netauth-pam-helper.orig and ` +
    "--uninstall puts it back)",
  ]]);
  const forced = installDecisions(targets, [], rec, { ...ctx, force: true });
  assert.deepEqual(forced, [["backup", LOGROTATE, `${ctx.lib}/logrotate.d-netauth-pam-helper.orig`]]);
});

Deno.test("install: the package's file is refused even with --force, naming the package", () => {
  const pkg = records({}, [LOGROTATE, "/lib/systemd/system/netauth-pam-helper.service"]);
  const out = installDecisions([{ path: LOGROTATE, sha256: "p" }, { path: UNIT }], [], pkg, { ...ctx, force: true });
  assert.equal(out.length, 2);
  assert.deepEqual(out.map((d) => d[0]), ["refuse", "refuse"]);
  assert.match(out[0][1], /^\/etc\/logrotate\.d\/netauth-pam-helper is the Debian package netauth-pam-helper's/);
  assert.match(out[0][1], /not even with --force; .*apt-get purge netauth-pam-helper/);
  assert.match(out[1][1], /^\/etc\/systemd\/system\/netauth-pam-helper\.service would override \/lib\/systemd/);
});

Deno.test("install: a recorded file changed since is dropped from the record, not hashed again as ours", () => {
  const rec = records({ [PROFILE]: "ours" });
  assert.deepEqual(installDecisions([], [{ path: PROFILE, sha256: "edited" }], rec, { ...ctx, destdir: "/d" }), [
    ["drop", `/d${PROFILE}`],
  ]);
  assert.deepEqual(installDecisions([], [{ path: PROFILE, sha256: "ours" }], rec, ctx), []);
});

Deno.test("uninstall: ours removed, changed ones kept, backups put back only over ours", () => {
  const rec = records({ [LOGROTATE]: "l", [UNIT]: "u", [PROFILE]: "p" });
  const paths: PathFacts[] = [
    { path: LOGROTATE, sha256: "l" },
    { path: UNIT, sha256: "edited" },
    { path: PROFILE, sha256: "edited" },
    { path: MAN, sha256: "not recorded" },
  ];
  const backups = new Set([backupName(LOGROTATE), backupName(PROFILE)]);
  assert.deepEqual(uninstallDecisions(paths, backups, rec, ctx), [
    ["remove", LOGROTATE],
    [
      "restore",
      `${ctx.lib}/logrotate.d-netauth-pam-helper.orig`,
      LOGROTATE,
      `restored: ${LOGROTATE} (the one install.sh found there)`,
    ],
    [
      "keep",
      UNIT,
      `kept: ${UNIT} (changed since install.sh wrote it; someone else's now; remove it by hand if it is not wanted)`,
    ],
    [
      "keep",
      PROFILE,
      `kept: ${PROFILE} (changed since install.sh wrote it; remove it and run pam-auth-update yourself)`,
    ],
    [
      "keep",
      `${ctx.lib}/pam-configs-netauth.orig`,
      `kept: ${ctx.lib}/pam-configs-netauth.orig (the file install.sh found before its own; not put back over the one there now)`,
    ],
  ]);
});

Deno.test("uninstall: the package's file is never removed, even when recorded with its hash", () => {
  const rec = { ...records({ [LOGROTATE]: "l" }), packageFiles: new Set([LOGROTATE]) };
  assert.deepEqual(uninstallDecisions([{ path: LOGROTATE, sha256: "l" }], new Set(), rec, ctx), [
    ["keep", LOGROTATE, `kept: ${LOGROTATE} (the Debian package netauth-pam-helper's)`],
  ]);
});

Deno.test("records: installed-files without DESTDIR, manifest.json's hashes, dpkg's list for the package", () => {
  const destdir = Deno.makeTempDirSync();
  try {
    const lib = `${destdir}/opt/x/lib/netauth-pam-helper`;
    Deno.mkdirSync(lib, { recursive: true });
    Deno.mkdirSync(`${destdir}/var/lib/dpkg/info`, { recursive: true });
    Deno.writeTextFileSync(`${lib}/installed-files`, `${destdir}${LOGROTATE}\n${destdir}${MAN}\n`);
    Deno.writeTextFileSync(`${lib}/manifest.json`, JSON.stringify({ files: [{ path: LOGROTATE, sha256: "l" }] }));
    Deno.writeTextFileSync(`${destdir}/var/lib/dpkg/info/netauth-pam-helper.list`, `/.\n/etc\n${PROFILE}\n`);
    Deno.writeTextFileSync(`${destdir}/var/lib/dpkg/info/netauth-pam-helper-other.list`, `${UNIT}\n`);
    const rec = readRecords(lib, destdir);
    assert.deepEqual([...rec.recorded].sort(), [LOGROTATE, MAN]);
    assert.deepEqual([...rec.hashes], [[LOGROTATE, "l"]]);
    assert.ok(rec.packageFiles.has(PROFILE) && !rec.packageFiles.has(UNIT));
    Deno.writeTextFileSync(`${lib}/manifest.json`, "not json");
    assert.equal(readRecords(lib, destdir).hashes.size, 0, "an unreadable manifest vouches for nothing");
    assert.equal(readRecords(`${destdir}/none`, destdir).recorded.size, 0);
  } finally {
    Deno.removeSync(destdir, { recursive: true });
  }
});
