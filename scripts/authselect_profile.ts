// The authselect vendor profile the RPM ships (/usr/share/authselect/vendor/netauth/), written at build time so
// that pam.d/ stays the one source of the PAM lines: system-auth and password-auth are pam.d/rhel/system-auth-netauth's
// lines (with the package's /usr/sbin) followed by pam.d/rhel/password-session's, postlogin is pam.d/rhel/postlogin's;
// README, REQUIREMENTS and nsswitch.conf are packaging/authselect/'s. Plain files: no `{if ...}` templates.
import { BuildError } from "./package_settings.ts";
import { PACKAGE, PACKAGED } from "../src/install/package_layout.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** The launcher as pam.d/ names it (install.sh's default --prefix); the package's is PACKAGED.sbin. */
const SOURCE_SBIN = `/usr/local/sbin/${PACKAGE}`;

/** A pam.d/ file from its first line after the opening comment block (which says where the lines go). */
function body(rel: string): string {
  const lines = Deno.readTextFileSync(`${ROOT}${rel}`).split("\n");
  const start = lines.findIndex((line) => !line.startsWith("#"));
  return lines.slice(start).join("\n").replace(/^\n+/, "").replaceAll(SOURCE_SBIN, PACKAGED.sbin);
}

function pamFile(name: string, sources: string[]): string {
  const header = `# ${name} of the netauth authselect profile, shipped by the ${PACKAGE} package: written at build\n` +
    `# time from ${sources.join(" and ")} of its source (pam.d/README.md there explains them).\n\n`;
  return header + sources.map((rel) => body(rel).trimEnd() + "\n").join("\n");
}

/** The profile's files by name, as the package installs them. */
export function authselectProfile(): Record<string, string> {
  const stack = ["pam.d/rhel/system-auth-netauth", "pam.d/rhel/password-session"];
  const files: Record<string, string> = {
    "system-auth": pamFile("system-auth", stack),
    "password-auth": pamFile("password-auth", stack),
    postlogin: pamFile("postlogin", ["pam.d/rhel/postlogin"]),
  };
  for (const name of ["README", "REQUIREMENTS", "nsswitch.conf"]) {
    files[name] = Deno.readTextFileSync(`${ROOT}packaging/authselect/${name}`);
  }
  for (const [name, text] of Object.entries(files)) {
    // authselect reads braces as its template language: a literal one would be mangled, not copied.
    if (/[{}]/.test(text)) throw new BuildError(`authselect profile ${name}: a brace would be read as a template`);
    if (text.includes(SOURCE_SBIN)) throw new BuildError(`authselect profile ${name} names ${SOURCE_SBIN}`);
  }
  return files;
}
