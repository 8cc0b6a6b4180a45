// What the end-to-end tests share: their prerequisites, pamtester, install.sh and throwaway local users.
import assert from "node:assert/strict";
import { missingNetAuthd, type NetAuthd, startNetAuthd } from "../../testkit/netauthd.ts";
import { testWhere } from "../../testkit/skip.ts";

export const ROOT = new URL("../../", import.meta.url).pathname;
const decoder = new TextDecoder();

/** Why these tests cannot run here, or undefined. In CI a reason is a failure, not a skip. */
export async function missingPrerequisite(): Promise<string | undefined> {
  if (Deno.uid() !== 0) return "not root: PAM service files and pam_unix need root";
  const pamtester = await new Deno.Command("sh", { args: ["-c", "command -v pamtester"] }).output();
  if (!pamtester.success) return "pamtester not installed (apt-get install pamtester)";
  const taken = await localAccounts(NETAUTH_USERS);
  if (taken.length > 0) {
    return `local account(s) ${taken.join(", ")} exist on this host with the name of a NetAuth test user: ` +
      "pam_localuser keeps them away from NetAuth, so the PAM tests would fail with misleading helper exits; " +
      "remove them or run the tests on another host";
  }
  return await missingNetAuthd();
}

/** The NetAuth entities the end-to-end tests log in as (testkit/netauthd.ts), and one it does not know. */
export const NETAUTH_USERS = ["alice", "bob", "carol", "dave", "zed"];

/** Which of `names` are accounts on this host (passwd through NSS). */
export async function localAccounts(names: string[]): Promise<string[]> {
  const taken: string[] = [];
  for (const name of names) if ((await sh("getent", ["passwd", name])).code === 0) taken.push(name);
  return taken;
}

/** An end-to-end test under the one skip policy (testkit/skip.ts): skipped outside CI when `missing`, else failed. */
export function e2eTest(name: string, missing: string | undefined, fn: (t: Deno.TestContext) => Promise<void>) {
  testWhere(missing, { name, sanitizeOps: false, sanitizeResources: false, fn });
}

export interface Pam {
  code: number;
  output: string;
  ms: number;
}

/**
 * One pamtester call; the password goes to pam's conversation on stdin. `prefix` runs it under another command.
 * Several operations (`["setcred", "authenticate"]`) run in order on one PAM handle.
 */
export async function pamtester(
  service: string,
  user: string,
  op: string | string[],
  password = "",
  prefix: string[] = [],
) {
  const started = performance.now();
  const [cmd, ...args] = [...prefix, "pamtester", "-v", service, user, ...[op].flat()];
  const child = new Deno.Command(cmd, {
    args,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(30_000),
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(`${password}\n`)).catch(() => {});
  await writer.close().catch(() => {});
  const out = await child.output();
  const text = decoder.decode(out.stdout) + decoder.decode(out.stderr);
  return { code: out.code, output: text, ms: performance.now() - started } satisfies Pam;
}

/**
 * `argv` (a launcher, or a command that execs one) run as pam_exec runs the helper for an `auth` of alice:
 * only the PAM variables, the password on stdin. Gives the exit code and the helper's last line (its decision).
 */
export async function authAsPamExec(argv: string[], password: string, service: string) {
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    clearEnv: true,
    env: { PAM_TYPE: "auth", PAM_USER: "alice", PAM_SERVICE: service },
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(password));
  await writer.close();
  const out = await child.output();
  return { code: out.code, line: decoder.decode(out.stderr).trim().split("\n").at(-1) ?? "" };
}

/** The helper installed into a fresh prefix (0755, like /usr/local) against a real netauthd; all removed after `fn`. */
export async function withInstalledHelper(fn: (installed: { prefix: string; server: NetAuthd }) => Promise<void>) {
  const prefix = await Deno.makeTempDir({ prefix: "netauth-prefix-" });
  await Deno.chmod(prefix, 0o755);
  let server: NetAuthd | undefined;
  try {
    server = await startNetAuthd();
    await installHelper(prefix, server.clientConfigDir);
    await fn({ prefix, server });
  } finally {
    await sh(`${ROOT}install.sh`, ["--uninstall", "--prefix", prefix]);
    await server?.cleanup();
    await Deno.remove(prefix, { recursive: true });
  }
}

/**
 * The shipped pam_exec lines (`pam.d/common-lines`) for the helper at `launcher`, logging to `log`, each `required`
 * so that a refusal fails the stack (pam_exec then says "System error"; the helper's log line says why).
 */
export function shippedPamExecLines(launcher: string, log: string): string[] {
  const lines = Deno.readTextFileSync(`${ROOT}pam.d/common-lines`).split("\n")
    .filter((line) => line.includes("pam_exec.so"))
    .map((line) =>
      line.replace("/usr/local/sbin/netauth-pam-helper", launcher).replace("/var/log/netauth-pam-helper.log", log)
        .replace(/\[success=\d+ [^\]]*\]/, "required")
    );
  assert.equal(lines.length, 2, "an auth and an account line");
  return lines;
}

/** Runs a command to completion; output is stdout and stderr together. */
export async function sh(cmd: string, args: string[], env?: Record<string, string>) {
  const out = await new Deno.Command(cmd, { args, env, stdin: "null" }).output();
  return { code: out.code, output: decoder.decode(out.stdout) + decoder.decode(out.stderr) };
}

export async function installHelper(prefix: string, confDir: string, ...extra: string[]): Promise<string> {
  const res = await sh(`${ROOT}install.sh`, ["--mode", "bundle", "--prefix", prefix, "--conf-dir", confDir, ...extra]);
  assert.equal(res.code, 0, res.output);
  assert.match(res.output, /check: server: ok/);
  return res.output;
}

/**
 * A throwaway local account. Its name must not exist yet: a host account of the same name would turn
 * the test's expectations (pam_localuser skips NetAuth for it) into misleading failures.
 */
export async function addLocalUser(name: string, options: { home?: boolean; password?: string } = {}) {
  const exists = await sh("getent", ["passwd", name]);
  assert.notEqual(exists.code, 0, `a local account named ${name} already exists on this host: remove it or rename`);
  const home = options.home ? ["-m"] : ["-M"];
  const add = await sh("useradd", [...home, "-s", "/usr/sbin/nologin", name]);
  assert.equal(add.code, 0, add.output);
  if (options.password) {
    const chpasswd = new Deno.Command("chpasswd", { stdin: "piped" }).spawn();
    const w = chpasswd.stdin.getWriter();
    await w.write(new TextEncoder().encode(`${name}:${options.password}\n`));
    await w.close();
    assert.ok((await chpasswd.status).success, "chpasswd failed");
  }
  const id = async (flag: string) => Number((await sh("id", [flag, name])).output.trim());
  return { name, uid: await id("-u"), gid: await id("-g") };
}

export async function removeLocalUser(name: string) {
  await sh("userdel", ["-r", name]).catch(() => {});
}

/**
 * Debian's common-auth and common-account as `pam-auth-update --enable netauth` writes them from pam.d/debian/netauth
 * and Debian's `unix` profile: Primary blocks by priority (the first block's `*-Initial` lines), `end` turned into the
 * jump past the fallback `pam_deny` to `pam_permit`, then the Additional block. `edit` adapts each profile line
 * (helper path, log file); the result is one PAM service file.
 */
export function debianCommonStack(edit: (line: string) => string = (line) => line): string {
  const profile = Deno.readTextFileSync(`${ROOT}pam.d/debian/netauth`);
  const field = (name: string) => profile.match(new RegExp(`^${name}: *(.*)$`, "m"))?.[1] ?? "";
  const lines = (name: string) =>
    profile.split(new RegExp(`^${name}:\\n`, "m"))[1].split(/^\S/m)[0].trim().split("\n").map((l) => edit(l.trim()));
  assert.equal(field("Auth-Type"), "Primary");
  assert.equal(field("Account-Type"), "Additional");
  // /usr/share/pam-configs/unix on Debian 12: Priority 256; Auth-Initial drops try_first_pass.
  const UNIX_PRIORITY = 256;
  const netauthFirst = Number(field("Priority")) > UNIX_PRIORITY;
  const unixAuth = `[success=end default=ignore]\tpam_unix.so nullok${netauthFirst ? " try_first_pass" : ""}`;
  const authPrimary = netauthFirst ? [...lines("Auth"), unixAuth] : [unixAuth, ...lines("Auth")];
  const jumps = (block: string[]) => block.map((line, i) => line.replace("success=end", `success=${block.length - i}`));
  return [
    "# written by tests/e2e/pam.ts: common-auth and common-account as pam-auth-update lays them out",
    ...jumps(authPrimary).map((line) => `auth\t${line}`),
    "auth\trequisite\tpam_deny.so",
    "auth\trequired\tpam_permit.so",
    ...jumps(["[success=end new_authtok_reqd=done default=ignore]\tpam_unix.so"]).map((line) => `account\t${line}`),
    "account\trequisite\tpam_deny.so",
    "account\trequired\tpam_permit.so",
    ...lines("Account").map((line) => `account\t${line}`),
    "",
  ].join("\n");
}

/** A pam.d/ file as a PAM service for a test: the helper at `helper` (with `args` after it), logging to `log`. */
export function shippedStack(file: string, helper: string, log: string, args = ""): string {
  return adaptPamLine(Deno.readTextFileSync(`${ROOT}pam.d/${file}`), helper, log, args);
}

/** One or more shipped PAM lines with the helper's path and log file of a test install. */
export function adaptPamLine(text: string, helper: string, log: string, args = ""): string {
  return text.replaceAll("/usr/local/sbin/netauth-pam-helper", `${helper}${args ? ` ${args}` : ""}`)
    .replaceAll("/var/log/netauth-pam-helper.log", log);
}
