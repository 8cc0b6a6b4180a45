// `deno task deb [--outdir DIR] [--version V] [--maintainer "Name <address>"] [--compression xz|none]`:
// netauth-pam-helper_<version>_<arch>.deb from this checkout, reproducibly: SOURCE_DATE_EPOCH from the commit,
// every mtime clamped to it, root:root owners, fixed modes, dpkg-deb's sorted members. V is also what the
// bundled helper reports (package_tree.ts's stageSource). Needs `deno install --frozen` once; no network after.
import { BuildError, CONFFILES, git, packageMain, ROOT, sourceDateEpoch, stageTree, walkTree } from "./package_tree.ts";
import { checkMaintainer, checkVersion } from "./package_settings.ts";
import { debianArch, PACKAGE } from "../src/install/package_layout.ts";

const DESCRIPTION = `NetAuth logins through pam_exec, sandboxed by Deno
 netauth-pam-helper is what pam_exec.so runs at a login: it checks the user's
 password and account against a NetAuth server and answers with its exit status.
 It runs as a code-split JavaScript bundle on the Deno runtime shipped with it,
 with Deno permissions baked from /etc/netauth/config.toml by
 'netauth-pam-helper --setup'. A pam-auth-update profile wires it into
 common-auth and common-account; local accounts never reach it.`;

/** What the launcher, the runtime and the PAM lines use. */
const DEPENDS = "libc6 (>= 2.27), libgcc-s1, util-linux (>= 2.32), libpam-modules, libpam-runtime (>= 1.0.1-6)";

const decoder = new TextDecoder();

/** Installed-Size: KiB, each file rounded up, each directory one. */
function installedSize(tree: string): number {
  return walkTree(tree).reduce((sum, rel) => {
    const info = Deno.lstatSync(`${tree}/${rel}`);
    return sum + (info.isDirectory ? 1 : Math.ceil(info.size / 1024));
  }, 0);
}

async function md5sums(tree: string): Promise<string> {
  const files = walkTree(tree).filter((rel) =>
    Deno.lstatSync(`${tree}/${rel}`).isFile && !rel.startsWith("etc/") && !rel.startsWith("DEBIAN/")
  );
  const out = await new Deno.Command("md5sum", { args: ["--", ...files], cwd: tree, stdout: "piped" }).output();
  if (!out.success) throw new BuildError("md5sum failed");
  return decoder.decode(out.stdout);
}

/** The reasons lintian's tags on the upstream Deno binary are kept (packaging/debian/lintian-overrides). */
function addLintianOverrides(tree: string, epoch: number): void {
  const overrides = `${tree}/usr/share/lintian/overrides`;
  Deno.mkdirSync(overrides, { recursive: true });
  Deno.copyFileSync(`${ROOT}packaging/debian/lintian-overrides`, `${overrides}/${PACKAGE}`);
  for (const rel of ["usr/share/lintian", "usr/share/lintian/overrides", `usr/share/lintian/overrides/${PACKAGE}`]) {
    Deno.chmodSync(`${tree}/${rel}`, rel.endsWith(PACKAGE) ? 0o644 : 0o755);
    Deno.utimeSync(`${tree}/${rel}`, epoch, epoch);
  }
  Deno.utimeSync(`${tree}/usr/share`, epoch, epoch);
}

/** DEBIAN/: control, md5sums, conffiles and the maintainer scripts, with fixed modes and mtimes. */
async function writeControlDir(tree: string, build: Build & { arch: string; epoch: number }): Promise<void> {
  const { version, maintainer, arch, epoch } = build;
  const control = `${tree}/DEBIAN`;
  Deno.mkdirSync(control);
  Deno.chmodSync(control, 0o755); // whatever the builder's umask
  const fields = [
    `Package: ${PACKAGE}`,
    `Version: ${version}`,
    `Architecture: ${arch}`,
    `Maintainer: ${maintainer}`,
    `Installed-Size: ${installedSize(tree)}`,
    `Depends: ${DEPENDS}`,
    "Section: admin",
    "Priority: optional",
    `Description: ${DESCRIPTION}`,
  ];
  Deno.writeTextFileSync(`${control}/control`, `${fields.join("\n")}\n`);
  Deno.writeTextFileSync(`${control}/md5sums`, await md5sums(tree));
  Deno.writeTextFileSync(`${control}/conffiles`, CONFFILES.map((c) => `${c}\n`).join(""));
  for (const script of ["preinst", "postinst", "prerm", "postrm"]) {
    Deno.copyFileSync(`${ROOT}packaging/debian/${script}`, `${control}/${script}`);
    Deno.chmodSync(`${control}/${script}`, 0o755);
  }
  for (const name of ["control", "md5sums", "conffiles"]) Deno.chmodSync(`${control}/${name}`, 0o644);
  for (const rel of ["DEBIAN", ...walkTree(control).map((n) => `DEBIAN/${n}`)]) {
    Deno.utimeSync(`${tree}/${rel}`, epoch, epoch);
  }
}

/** What the build's command line sets: the package's (and the helper's) version, its maintainer. */
export interface Build {
  version: string;
  maintainer: string;
}

/** Builds the .deb into `outdir`; gives back its path. */
export async function buildDeb(outdir: string, build: Build, compression = "xz"): Promise<string> {
  const version = checkVersion(build.version);
  const maintainer = checkMaintainer(build.maintainer);
  const arch = debianArch(Deno.build.arch);
  if (!arch || Deno.build.os !== "linux") {
    throw new BuildError(
      `unsupported architecture ${Deno.build.os}/${Deno.build.arch}: Deno ships Linux x86_64 and aarch64`,
    );
  }
  const epoch = await sourceDateEpoch();
  const commit = await git(["rev-parse", "HEAD"]);
  const status = commit && await git(["status", "--porcelain"]);
  Deno.mkdirSync(outdir, { recursive: true });
  const work = await Deno.makeTempDir({ dir: outdir, prefix: ".deb-build-" });
  try {
    const tree = `${work}/tree`;
    await stageTree({
      dir: tree,
      family: "deb",
      version,
      maintainer,
      sourceDateEpoch: epoch,
      source: commit && status !== undefined ? { commit, dirty: status !== "" } : null,
    });
    addLintianOverrides(tree, epoch);
    await writeControlDir(tree, { version, maintainer, arch, epoch });
    const deb = `${outdir}/${PACKAGE}_${version}_${arch}.deb`;
    const out = await new Deno.Command("dpkg-deb", {
      // One xz thread: multi-threaded xz splits into blocks by thread count, so bytes would depend on the builder.
      args: ["--root-owner-group", `-Z${compression}`, "--threads-max=1", "--build", tree, deb],
      env: { SOURCE_DATE_EPOCH: String(epoch) },
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) throw new BuildError(`dpkg-deb failed: ${decoder.decode(out.stderr).trim()}`);
    return deb;
  } finally {
    await Deno.remove(work, { recursive: true });
  }
}

if (import.meta.main) await packageMain({ name: "deb", checkVersion, build: buildDeb });
