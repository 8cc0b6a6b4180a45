import assert from "node:assert/strict";
import {
  installExecutables,
  parseManifest,
  REFUSED_OPTIONS,
  requiredOptions,
  verifyInstall,
} from "../../src/install/verify_install.ts";
import { verifyHost } from "../../src/install/package_setup.ts";
import { reportChecks } from "../../src/install/verify_report.ts";
import { type Manifest, MANIFEST_FORMAT } from "../../src/manifest_format.ts";
import { dirname } from "../../src/paths.ts";
import { hostPamSource, pamExecLines, type PamLine } from "../../src/pam_files.ts";

const HELPER = "/usr/local/sbin/netauth-pam-helper";

/** Every pam_exec line that runs the helper in the shipped PAM files (pam.d/, the only copy of the PAM lines). */
function shippedPamLines(): PamLine[] {
  const dir = new URL("../../pam.d/", import.meta.url).pathname;
  const source = hostPamSource({ destdir: "", pamDir: dir, targets: [HELPER] });
  const files = (sub: string): string[] =>
    [...Deno.readDirSync(`${dir}${sub}`)].flatMap((e) =>
      e.isDirectory ? files(`${sub}${e.name}/`) : e.name.endsWith(".md") ? [] : [`${dir}${sub}${e.name}`]
    );
  return files("").flatMap((file) => pamExecLines(file, Deno.readTextFileSync(file), source));
}

Deno.test("the README's options: quiet everywhere, expose_authtok on auth, seteuid nowhere", () => {
  // What --verify requires is what every shipped line carries (log= is recommended, not required): read, not restated.
  const lines = shippedPamLines();
  for (const type of ["auth", "account"]) {
    const ofType = lines.filter((line) => line.type === type);
    assert.ok(ofType.length >= 4, `${type} lines in pam.d/: ${ofType.length}`);
    const common = ofType[0].options.filter((o) => !o.startsWith("log=") && ofType.every((l) => l.options.includes(o)));
    assert.deepEqual(requiredOptions(type), common.sort(), type);
  }
  for (const type of ["auth", "account"]) assert.ok(requiredOptions(type).includes("quiet"));
  assert.deepEqual(REFUSED_OPTIONS, ["seteuid"]);
  assert.ok(
    !lines.some((line) => line.options.some((o) => REFUSED_OPTIONS.includes(o))),
    "a shipped line carries seteuid",
  );
  assert.ok(
    requiredOptions("auth").includes("expose_authtok") && !requiredOptions("account").includes("expose_authtok"),
  );
});

Deno.test("a hand-edited manifest without its sandbox or runtime directories is no usable manifest, not a crash", () => {
  const whole = {
    format: MANIFEST_FORMAT,
    files: [],
    artefact: "/a",
    sandbox: ["--allow-read=/etc/netauth"],
    runtimeDirs: [],
  };
  assert.deepEqual(parseManifest(JSON.stringify(whole)), whole);
  for (const broken of [{ sandbox: undefined }, { sandbox: [1] }, { sandbox: "--allow-all" }, { runtimeDirs: null }]) {
    assert.throws(() => parseManifest(JSON.stringify({ ...whole, ...broken })), /^Error: not a .* manifest$/);
  }
});

// Issue 26, finding 3: a pam_exec line is judged whichever of the install's executables it runs, by any path.
const PKG = "/usr/lib/netauth-pam-helper";
const SRC = "/usr/local/lib/netauth-pam-helper";
const file = (path: string, mode: string) => ({ path, sha256: "00", uid: 0, gid: 0, mode });
const manifestOf = (fields: Partial<Manifest>): Manifest => ({
  format: MANIFEST_FORMAT,
  name: "netauth-pam-helper",
  version: "0.1.0",
  source: null,
  deno: "2.9.6",
  denoLockSha256: "00",
  mode: "bundle",
  prefix: "/usr",
  artefact: "",
  launcher: "",
  sandbox: [],
  runtimeDirs: [],
  pam: { debianProfile: null },
  log: null,
  files: [],
  ...fields,
});
/** The package after --setup: the front script, the generated launcher, the bundled deno, the bundle. */
const PACKAGE = manifestOf({
  artefact: `${PKG}/netauth-pam-helper.js`,
  launcher: "/usr/sbin/netauth-pam-helper",
  files: [
    file("/usr/sbin/netauth-pam-helper", "0755"),
    file(`${PKG}/launcher`, "0755"),
    file(`${PKG}/deno`, "0755"),
    file(`${PKG}/netauth-pam-helper.js`, "0644"),
    file(`${PKG}/setup.js`, "0644"),
  ],
});
/** install.sh --mode bundle: its launcher in sbin, the copied deno, the bundle. */
const BUNDLE = manifestOf({
  prefix: "/usr/local",
  artefact: `${SRC}/netauth-pam-helper.js`,
  launcher: "/usr/local/sbin/netauth-pam-helper",
  files: [
    file("/usr/local/sbin/netauth-pam-helper", "0755"),
    file(`${SRC}/deno`, "0755"),
    file(`${SRC}/netauth-pam-helper.js`, "0644"),
  ],
});
/** install.sh --mode compile: its launcher in sbin and the compiled binary. */
const COMPILE = manifestOf({
  mode: "compile",
  prefix: "/usr/local",
  artefact: `${SRC}/netauth-pam-helper`,
  launcher: "/usr/local/sbin/netauth-pam-helper",
  files: [file("/usr/local/sbin/netauth-pam-helper", "0755"), file(`${SRC}/netauth-pam-helper`, "0755")],
});

/**
 * The `pam` lines (PAM's view of `verify`'s report) for `service` as DESTDIR/etc/pam.d/svc, on a tree holding the
 * manifest's files and, as relative symbolic links, `links` (path -> target).
 */
async function pamVerdicts(
  manifest: Manifest,
  service: string,
  verify: "package" | "install.sh",
  links: Record<string, string> = {},
): Promise<string[]> {
  const root = await Deno.makeTempDir({ prefix: "netauth-verify-pam-" });
  try {
    const put = (path: string, text: string) => {
      Deno.mkdirSync(`${root}${dirname(path)}`, { recursive: true });
      Deno.writeTextFileSync(`${root}${path}`, text);
    };
    for (const { path, mode } of manifest.files) {
      put(path, "#!/bin/sh\n");
      Deno.chmodSync(`${root}${path}`, parseInt(mode, 8));
    }
    for (const [path, target] of Object.entries(links)) {
      Deno.mkdirSync(`${root}${dirname(path)}`, { recursive: true });
      Deno.symlinkSync(target, `${root}${path}`);
    }
    put(`${dirname(manifest.artefact)}/manifest.json`, JSON.stringify(manifest));
    put(`${dirname(manifest.artefact)}/build-manifest.json`, JSON.stringify(manifest));
    put("/etc/pam.d/svc", service);
    const lines: string[] = [];
    if (verify === "package") await verifyHost(root, (line) => lines.push(line));
    else {
      const checks = await verifyInstall({ manifest, destdir: root, pamDir: `${root}/etc/pam.d` });
      reportChecks(checks, (line) => lines.push(line));
    }
    return lines.filter((line) => / pam /.test(line)).map((line) => line.replace(`${root}/etc/pam.d/`, ""));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

const GOOD = "auth required pam_exec.so expose_authtok quiet";
const BAD = "auth required pam_exec.so seteuid log=/var/log/x.log";
const SETEUID = `lacks expose_authtok, quiet; carries seteuid (README, "PAM")`;
const ITSELF = "not through the launcher (PAM's environment reaches it; setpriv never runs)";

Deno.test("--verify judges a line that runs the front script (package and install.sh)", async () => {
  const service = `${GOOD} /usr/sbin/netauth-pam-helper\n${BAD} /usr/sbin/netauth-pam-helper\n`;
  assert.deepEqual(await pamVerdicts(PACKAGE, service, "package"), [
    "ok pam svc:1 auth: expose_authtok quiet",
    `DRIFT pam svc:2 auth: ${SETEUID}`,
  ]);
  const local = service.replaceAll("/usr/sbin/", "/usr/local/sbin/");
  assert.deepEqual(await pamVerdicts(COMPILE, local, "install.sh"), [
    "ok pam svc:1 auth: expose_authtok quiet",
    `DRIFT pam svc:2 auth: ${SETEUID}`,
  ]);
});

Deno.test("--verify judges a line that runs the package's generated launcher (issue 26's reproduction)", async () => {
  const service = `${GOOD} ${PKG}/launcher\n${BAD} ${PKG}/launcher\n`;
  assert.deepEqual(await pamVerdicts(PACKAGE, service, "package"), [
    "ok pam svc:1 auth: expose_authtok quiet",
    `DRIFT pam svc:2 auth: ${SETEUID}`,
  ]);
});

Deno.test("--verify judges a line that runs the bundled deno: its options, and that it skips the launcher", async () => {
  const run = (lib: string) => `deno run --allow-all ${lib}/netauth-pam-helper.js`;
  assert.deepEqual(await pamVerdicts(PACKAGE, `${GOOD} ${PKG}/${run(PKG)}\n`, "package"), [
    `DRIFT pam svc:1 auth: runs ${PKG}/deno itself, ${ITSELF} (README, "PAM")`,
  ]);
  assert.deepEqual(await pamVerdicts(BUNDLE, `${BAD} ${SRC}/${run(SRC)}\n`, "install.sh"), [
    `DRIFT pam svc:1 auth: lacks expose_authtok, quiet; carries seteuid; runs ${SRC}/deno itself, ${ITSELF} (README, "PAM")`,
  ]);
});

Deno.test("--verify judges a line that runs the compiled binary: its options, and that it skips the launcher", async () => {
  const service = `${GOOD} ${SRC}/netauth-pam-helper\n${BAD} ${SRC}/netauth-pam-helper\n`;
  assert.deepEqual(await pamVerdicts(COMPILE, service, "install.sh"), [
    `DRIFT pam svc:1 auth: runs ${SRC}/netauth-pam-helper itself, ${ITSELF} (README, "PAM")`,
    `DRIFT pam svc:2 auth: lacks expose_authtok, quiet; carries seteuid; runs ${SRC}/netauth-pam-helper itself, ${ITSELF} (README, "PAM")`,
  ]);
});

Deno.test("--verify judges a line that runs one of them through a symbolic link", async () => {
  const links = { "/usr/local/bin/nph": "../../lib/netauth-pam-helper/launcher", "/opt/d": `..${PKG}/deno` };
  const service = `${BAD} /usr/local/bin/nph\n${GOOD} /opt/d run x.js\n${GOOD} /usr/local/bin/nph\n`;
  assert.deepEqual(await pamVerdicts(PACKAGE, service, "package", links), [
    `DRIFT pam svc:1 auth: ${SETEUID}`,
    `DRIFT pam svc:2 auth: runs /opt/d itself, ${ITSELF} (README, "PAM")`,
    "ok pam svc:3 auth: expose_authtok quiet",
  ]);
});

Deno.test("the install's executables: the launcher, the artefact and every recorded file with an execute bit", () => {
  assert.deepEqual(installExecutables(PACKAGE), [
    "/usr/sbin/netauth-pam-helper",
    `${PKG}/netauth-pam-helper.js`,
    `${PKG}/launcher`,
    `${PKG}/deno`,
  ]);
  assert.deepEqual(installExecutables(COMPILE), ["/usr/local/sbin/netauth-pam-helper", `${SRC}/netauth-pam-helper`]);
});
