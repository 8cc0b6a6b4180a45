// `deno task rpm [--outdir DIR] [--version V] [--maintainer "Name <address>"] [--compression xz|none]`:
// netauth-pam-helper-<version>-1.<arch>.rpm for RHEL, Fedora and Rocky from the same staged tree as the .deb
// (scripts/package_tree.ts, family rpm: the unit in /usr/lib/systemd/system, the authselect profile). rpmbuild -bb
// compiles nothing: the generated spec's %install copies the tree. Reproducibly: SOURCE_DATE_EPOCH from the commit as
// build time and mtime clamp, a fixed build host, root:root owners, one xz thread. Scriptlets: packaging/rpm/.
import {
  BuildError,
  CONFFILES,
  git,
  packageMain,
  ROOT,
  RPM_PATHS,
  rpmArch,
  sourceDateEpoch,
  stageTree,
  walkTree,
} from "./package_tree.ts";
import { checkMaintainer, checkVersion, LICENSE } from "./package_settings.ts";
import { PACKAGE, PACKAGED } from "../src/install/package_layout.ts";

const SUMMARY = "NetAuth logins through pam_exec, sandboxed by Deno";

const DESCRIPTION = `netauth-pam-helper is what pam_exec.so runs at a login: it checks the user's
password and account against a NetAuth server and answers with its exit status.
It runs as a code-split JavaScript bundle on the Deno runtime shipped with it,
with Deno permissions baked from /etc/netauth/config.toml by
'netauth-pam-helper --setup'. The authselect profile netauth wires it into
system-auth and password-auth (authselect select netauth); local accounts
never reach it.`;

/** What the launcher, the runtime and the PAM lines use (the ELF libraries rpm finds itself). */
const REQUIRES = ["util-linux", "pam", "coreutils"];

/** What a build must not depend on: rpmbuild's defaults would strip the Deno runtime the bundle was verified with. */
const FIXED_MACROS = {
  _buildhost: "reproducible.invalid",
  use_source_date_epoch_as_buildtime: "1",
  clamp_mtime_to_source_date_epoch: "1",
  source_date_epoch_from_changelog: "0",
  __spec_install_post: "%{nil}",
  debug_package: "%{nil}",
  _build_id_links: "none",
};

/** An RPM version: a Debian one without `-` (which separates the release). */
export function checkRpmVersion(version: string): string {
  if (checkVersion(version).includes("-")) throw new BuildError(`not an RPM version (no "-"): ${version}`);
  return version;
}

/** `%changelog`'s one entry, dated SOURCE_DATE_EPOCH as rpm writes dates (`Thu Jan 01 1970`). */
function changelog(version: string, maintainer: string, epoch: number): string {
  const [day, date, month, year] = new Date(epoch * 1000).toUTCString().replace(",", "").split(" ");
  return `* ${day} ${month} ${date} ${year} ${maintainer} - ${version}-1
- Built from the netauth-pam-helper source tree; its git log has the changes.
`;
}

/** `%files`: every file of the tree, and the directories that are the package's own (named after it). */
export function filesSection(tree: string): string {
  const lines = ["%defattr(-,root,root,-)"];
  for (const rel of walkTree(tree)) {
    const path = `/${rel}`;
    if (Deno.lstatSync(`${tree}${path}`).isDirectory) {
      if (rel.split("/").pop()!.startsWith("netauth")) lines.push(`%dir ${path}`);
    } else if ((CONFFILES as readonly string[]).includes(path)) lines.push(`%config(noreplace) ${path}`);
    else if (path === RPM_PATHS.license) lines.push(`%license ${path}`);
    else if (path.startsWith(`${PACKAGED.doc}/`)) lines.push(`%doc ${path}`);
    else lines.push(path);
  }
  return lines.join("\n");
}

function spec(tree: string, build: Build, epoch: number, compression: string): string {
  const scriptlet = (name: string) =>
    `%${name}\n${Deno.readTextFileSync(`${ROOT}packaging/rpm/${name}`).replace(/^#!.*\n/, "")}`;
  const macros = { ...FIXED_MACROS, _binary_payload: compression === "xz" ? "w6.xzdio" : "w.ufdio" };
  return `${Object.entries(macros).map(([name, value]) => `%define ${name} ${value}`).join("\n")}

Name: ${PACKAGE}
Version: ${build.version}
Release: 1
Summary: ${SUMMARY}
License: ${LICENSE.spdx}
Packager: ${build.maintainer}
${REQUIRES.map((r) => `Requires: ${r}`).join("\n")}

%description
${DESCRIPTION}

%prep

%build

%install
cp -a '${tree}/.' '%{buildroot}/'

${["pre", "post", "preun", "postun"].map(scriptlet).join("\n")}
%files
${filesSection(tree)}

%changelog
${changelog(build.version, build.maintainer, epoch)}`;
}

/** rpmbuild -bb on the staged tree `work`/tree (stageTree's) into `outdir`, scratch in `work`; the .rpm's path. */
export async function packTree(
  work: string,
  outdir: string,
  build: Build,
  how: { arch: string; epoch: number; compression: string },
): Promise<string> {
  const tree = `${work}/tree`;
  Deno.writeTextFileSync(`${work}/${PACKAGE}.spec`, spec(tree, build, how.epoch, how.compression));
  const define = (name: string, value: string) => ["--define", `${name} ${value}`];
  const out = await new Deno.Command("rpmbuild", {
    args: [
      "-bb",
      "--quiet",
      "--target",
      how.arch,
      ...define("_topdir", `${work}/top`),
      ...define("_tmppath", `${work}/tmp`),
      ...define("_rpmdir", outdir),
      ...define("_build_name_fmt", "%{NAME}-%{VERSION}-%{RELEASE}.%{ARCH}.rpm"),
      "--buildroot",
      `${work}/buildroot`,
      `${work}/${PACKAGE}.spec`,
    ],
    env: { SOURCE_DATE_EPOCH: String(how.epoch), TZ: "UTC", LC_ALL: "C" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    const said = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-5).join("; ");
    throw new BuildError(`rpmbuild failed: ${said}`);
  }
  return `${outdir}/${PACKAGE}-${build.version}-1.${how.arch}.rpm`;
}

/** What the build's command line sets: the package's (and the helper's) version, its maintainer. */
export interface Build {
  version: string;
  maintainer: string;
}

/** Builds the .rpm into `outdir`; gives back its path. */
export async function buildRpm(outdir: string, build: Build, compression = "xz"): Promise<string> {
  const version = checkRpmVersion(build.version);
  const maintainer = checkMaintainer(build.maintainer);
  const arch = rpmArch(Deno.build.arch);
  if (!arch || Deno.build.os !== "linux") {
    throw new BuildError(
      `unsupported architecture ${Deno.build.os}/${Deno.build.arch}: Deno ships Linux x86_64 and aarch64`,
    );
  }
  const epoch = await sourceDateEpoch();
  const commit = await git(["rev-parse", "HEAD"]);
  const status = commit && await git(["status", "--porcelain"]);
  Deno.mkdirSync(outdir, { recursive: true });
  outdir = Deno.realPathSync(outdir);
  const work = await Deno.makeTempDir({ dir: outdir, prefix: ".rpm-build-" });
  try {
    const tree = `${work}/tree`;
    await stageTree({
      dir: tree,
      family: "rpm",
      version,
      maintainer,
      sourceDateEpoch: epoch,
      source: commit && status !== undefined ? { commit, dirty: status !== "" } : null,
    });
    return await packTree(work, outdir, { version, maintainer }, { arch, epoch, compression });
  } finally {
    await Deno.remove(work, { recursive: true });
  }
}

if (import.meta.main) await packageMain({ name: "rpm", checkVersion: checkRpmVersion, build: buildRpm });
