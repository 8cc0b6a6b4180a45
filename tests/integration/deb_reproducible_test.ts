// `deno task deb` twice, from two clones of the same commit in different directories, by different users
// (root, then nobody with umask 027) with different HOME and DENO_DIR: the two .deb files are byte-identical.
// Both with `--version` other than src/version.ts's: the bundled helper reports the package's version.
// Then Debian's own judges: lintian, lexgrog and man -l.
import assert from "node:assert/strict";
import { commitAsClone, copyCheckout } from "./checkout.ts";
import { denoDir } from "../../testkit/run_helper.ts";
import { needsRoot, testWhere } from "../../testkit/skip.ts";
import { DEFAULT_MAINTAINER } from "../../scripts/package_settings.ts";

const decoder = new TextDecoder();
const NOBODY = 65534;
/** Not src/version.ts's: the package's label and what its helper says must both be this. */
const PACKAGE_VERSION = "0.1.1";

async function sha256(path: string): Promise<string> {
  return Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", Deno.readFileSync(path))))
    .map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** `deno task deb --outdir OUT --version PACKAGE_VERSION` in `checkout`; as `uid` with only `env` when given; the one .deb it wrote. */
async function buildDeb(checkout: string, out: string, env: Record<string, string>, uid?: number): Promise<string> {
  const deno = Deno.execPath();
  const task = [
    deno,
    "task",
    "--quiet",
    "--config",
    `${checkout}/deno.json`,
    "deb",
    "--outdir",
    out,
    "--version",
    PACKAGE_VERSION,
  ];
  const cmd = uid === undefined ? task : [
    "setpriv",
    `--reuid=${uid}`,
    `--regid=${uid}`,
    "--clear-groups",
    "sh",
    "-c",
    'umask 027 && exec "$@"',
    "sh",
    ...task,
  ];
  const clearEnv = uid !== undefined;
  const res = await new Deno.Command(cmd[0], { args: cmd.slice(1), cwd: checkout, env, clearEnv }).output();
  assert.equal(res.code, 0, decoder.decode(res.stderr));
  const debs = [...Deno.readDirSync(out)].filter((e) => e.name.endsWith(".deb")).map((e) => `${out}/${e.name}`);
  assert.equal(debs.length, 1, debs.join());
  return debs[0];
}

/** The data members as `tar tv` lists them: what to look at when the hashes differ. */
function listing(deb: string): string {
  const out = new Deno.Command("sh", { args: ["-c", 'dpkg-deb --fsys-tarfile "$1" | tar tv --full-time', "sh", deb] })
    .outputSync();
  return decoder.decode(out.stdout);
}

/** lintian (no error, no warning beyond its overrides), and man-db on the packaged man page. */
async function judgedByDebianTools(deb: string, dir: string): Promise<void> {
  const lintian = await new Deno.Command("lintian", { args: ["--fail-on", "error,warning", deb] }).output();
  const said = decoder.decode(lintian.stdout) + decoder.decode(lintian.stderr);
  assert.equal(lintian.code, 0, said);
  assert.doesNotMatch(said, /^[EW]: /m);
  const x = await new Deno.Command("dpkg-deb", { args: ["-x", deb, `${dir}/x`] }).output();
  assert.equal(x.code, 0);
  // One version: dpkg's, the build manifest's and the bundled helper's own --version; the default maintainer.
  const fields = await new Deno.Command("dpkg-deb", { args: ["-f", deb, "Version", "Maintainer"] }).output();
  assert.equal(decoder.decode(fields.stdout), `Version: ${PACKAGE_VERSION}\nMaintainer: ${DEFAULT_MAINTAINER}\n`);
  const lib = `${dir}/x/usr/lib/netauth-pam-helper`;
  assert.equal(JSON.parse(Deno.readTextFileSync(`${lib}/build-manifest.json`)).version, PACKAGE_VERSION);
  const runFlags = ["run", "--quiet", "--no-config", "--no-lock", "--no-remote", "--no-npm", "--allow-env"];
  const helper = await new Deno.Command(`${lib}/deno`, {
    args: [...runFlags, `${lib}/netauth-pam-helper.js`, "--version"],
  })
    .output();
  assert.equal(decoder.decode(helper.stdout), `netauth-pam-helper ${PACKAGE_VERSION}\n`, decoder.decode(helper.stderr));
  // The broker's units: the package's launcher and socket, and systemd-analyze's verdict where it is installed.
  const unit = Deno.readTextFileSync(`${dir}/x/lib/systemd/system/netauth-pam-helper.service`);
  const socketUnit = Deno.readTextFileSync(`${dir}/x/lib/systemd/system/netauth-pam-helper.socket`);
  assert.match(unit, /^ExecStart=\/usr\/sbin\/netauth-pam-helper --serve$/m);
  assert.match(unit, /^Requires=netauth-pam-helper\.socket$/m);
  // systemd makes the socket: the broker writes only the outage record's directory (no cache: the runtime's tmp/).
  assert.match(unit, /^ReadWritePaths=\/usr\/lib\/netauth-pam-helper\/runtime\/tmp$/m);
  assert.match(socketUnit, /^ListenStream=\/usr\/lib\/netauth-pam-helper\/runtime\/broker\/socket$/m);
  if (new Deno.Command("sh", { args: ["-c", "command -v systemd-analyze"] }).outputSync().success) {
    // Verified against the staged tree's launcher, beside its socket unit (the service requires it).
    const staged = `${dir}/netauth-pam-helper.service`;
    Deno.writeTextFileSync(staged, unit.replace("ExecStart=/usr/sbin/", `ExecStart=${dir}/x/usr/sbin/`));
    Deno.writeTextFileSync(`${dir}/netauth-pam-helper.socket`, socketUnit);
    const verify = await new Deno.Command("systemd-analyze", {
      args: ["verify", "--man=no", staged, `${dir}/netauth-pam-helper.socket`],
    }).output();
    assert.equal(verify.code, 0, decoder.decode(verify.stderr));
    assert.equal(decoder.decode(verify.stderr), "", "systemd-analyze verify warns about the unit");
  }
  const page = `${dir}/x/usr/share/man/man8/netauth-pam-helper.8.gz`;
  const lexgrog = await new Deno.Command("lexgrog", { args: [page] }).output();
  assert.match(decoder.decode(lexgrog.stdout), /: "netauth-pam-helper - check a login against a NetAuth server/);
  const man = await new Deno.Command("man", { args: ["-l", page], env: { MANWIDTH: "100", MAN_KEEP_FORMATTING: "" } })
    .output();
  assert.equal(man.code, 0, decoder.decode(man.stderr));
  assert.equal(decoder.decode(man.stderr), "", "man warns about the page");
  for (const section of ["SYNOPSIS", "EXIT STATUS", "PAM LINES", "OFFLINE CACHE", "SEE ALSO"]) {
    assert.match(decoder.decode(man.stdout), new RegExp(`^${section}$`, "m"));
  }
}

testWhere(needsRoot("the second build runs as nobody"), {
  name: "deno task deb: two clones, two users, two caches, one .deb byte for byte",
  async fn() {
    const base = await Deno.makeTempDir({ prefix: "netauth-deb-repro-" });
    try {
      Deno.chmodSync(base, 0o755);
      const a = `${base}/a/netauth-pam-helper`;
      const b = `${base}/somewhere/much/deeper/copy`;
      for (const dir of [a, b]) {
        await copyCheckout(dir);
        await commitAsClone(dir);
      }
      // The first builder: root, as it is (its DENO_DIR has deno bundle's esbuild after the first bundle).
      const first = await buildDeb(a, `${base}/out-a`, {});
      // The second: nobody, umask 027, its own home and DENO_DIR (seeded from root's: npm/ what `deno install
      // --frozen` fetched, dl/ the esbuild deno bundle fetched), an environment without any CA bundle: no network.
      const home = `${base}/nobody-home`;
      const otherDenoDir = `${home}/.cache/deno`;
      Deno.mkdirSync(otherDenoDir, { recursive: true });
      for (const sub of ["npm", "dl"]) {
        const cp = await new Deno.Command("cp", { args: ["-r", `${denoDir()}/${sub}`, `${otherDenoDir}/${sub}`] })
          .output();
        assert.equal(cp.code, 0, decoder.decode(cp.stderr));
      }
      for (const path of [home, b]) {
        const chown = await new Deno.Command("chown", { args: ["-R", `${NOBODY}:${NOBODY}`, path] }).output();
        assert.equal(chown.code, 0);
      }
      const second = await buildDeb(b, `${home}/out`, {
        PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
        HOME: home,
        DENO_DIR: otherDenoDir,
        TZ: "Pacific/Kiritimati",
      }, NOBODY);
      const [x, y] = [await sha256(first), await sha256(second)];
      if (x !== y) assert.equal(listing(second), listing(first), "the .deb files differ in their data members");
      assert.equal(y, x, "the .deb files differ (control member or ar header)");
      await judgedByDebianTools(first, base);
    } finally {
      await Deno.remove(base, { recursive: true });
    }
  },
});
