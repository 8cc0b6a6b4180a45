// The package's build settings, format-neutral: the version (one fact: the package's label and what the
// helper itself reports), the maintainer and the licence. scripts/deb.ts writes them into DEBIAN/control and
// the changelog; an RPM's spec can read the same (License:, Packager:, Version:).

export class BuildError extends Error {}

/** The maintainer when the build names none (`--maintainer`): the project's own, not an example address. */
export const DEFAULT_MAINTAINER = "netauth-pam-helper maintainers <netauth-pam-helper@users.noreply.github.com>";

/** The project's licence (LICENSE), as SPDX names it; Debian's copyright format calls it Expat. */
export const LICENSE = { spdx: "MIT", debian: "Expat" } as const;

/** `Name <address>`, one line: what DEBIAN/control's Maintainer field and an RPM's Packager tag take. */
export function checkMaintainer(text: string): string {
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x1f\x7f]/.test(text) || !/^[^<>@]*[^<>@\s] <[^<>@\s]+@[^<>@\s]+\.[^<>@\s]+>$/.test(text)) {
    throw new BuildError(`--maintainer expects "Name <address>" on one line, not ${JSON.stringify(text)}`);
  }
  return text;
}

/** A Debian version that is also safe inside a JavaScript string literal (no quote, no backslash). */
export function checkVersion(version: string): string {
  if (!/^[0-9][A-Za-z0-9.+~-]*$/.test(version)) throw new BuildError(`not a Debian version: ${version}`);
  return version;
}

/** src/version.ts's text with `version` as the one the helper reports (`--version`, `--audit`, the manifest). */
export function versionModule(source: string, version: string): string {
  const line = /^export const VERSION = "[^"\\\n]*";$/m;
  if (source.split("\n").filter((l) => line.test(l)).length !== 1) {
    throw new BuildError('src/version.ts has no single line `export const VERSION = "...";`');
  }
  return source.replace(line, `export const VERSION = "${checkVersion(version)}";`);
}
