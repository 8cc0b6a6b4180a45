// `deno task demo`: a throwaway netauthd with demo entities, the helper asked a few questions
// (through PAM with pamtester when root, else directly), every step printed, then cleaned up.
import { ALICE_SECRET, CAROL_SECRET, startNetAuthd } from "../testkit/netauthd.ts";
import { printFlags, runHelper } from "../testkit/run_helper.ts";
import { buildNetAuthIfMissing } from "./netauthd_build.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const say = (line: string) => console.log(line);
let steps = 0;
/** A numbered step: numbers count the steps this run took, from 1. */
const step = (line: string) => say(`${++steps}. ${line}`);

async function sh(cmd: string, args: string[], stdin = ""): Promise<{ code: number; out: string }> {
  const child = new Deno.Command(cmd, { args, stdin: "piped", stdout: "piped", stderr: "piped" }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(stdin));
  await writer.close();
  const res = await child.output();
  const text = new TextDecoder().decode(res.stdout) + new TextDecoder().decode(res.stderr);
  return { code: res.code, out: text.trim() };
}

const questions: [string, string, string, string][] = [
  ["alice, right password", "alice", "authenticate", ALICE_SECRET],
  ["alice, wrong password", "alice", "authenticate", "guess"],
  ["carol (locked), right password", "carol", "authenticate", CAROL_SECRET],
  ["carol, account check", "carol", "acct_mgmt", ""],
  ["zed (unknown), account check", "zed", "acct_mgmt", ""],
];

if (!await buildNetAuthIfMissing(step)) Deno.exit(1);
const server = await startNetAuthd();
const prefix = await Deno.makeTempDir({ prefix: "netauth-demo-" });
const service = `netauth-demo-${Deno.pid}`;
const viaPam = Deno.uid() === 0 && (await sh("sh", ["-c", "command -v pamtester"])).code === 0;
try {
  step(`netauthd is up on 127.0.0.1:${server.port}: alice and bob, carol (locked), dave; groups ops ⊂ staff`);
  step(
    `the helper's sandbox for ${server.clientConfigDir}:\n   ${(await printFlags(server.clientConfigDir)).join(" ")}`,
  );
  const check = await runHelper({ confDir: server.clientConfigDir, args: ["--check"] });
  step(`--check says:\n${check.stdout.trim().replace(/^/gm, "   ")}`);
  if (viaPam) {
    const install = await sh(`${ROOT}install.sh`, [
      "--mode",
      "bundle",
      "--prefix",
      prefix,
      "--conf-dir",
      server.clientConfigDir,
    ]);
    if (install.code !== 0) throw new Error(install.out);
    const helper = `${prefix}/sbin/netauth-pam-helper`;
    await Deno.writeTextFile(
      `/etc/pam.d/${service}`,
      `auth required pam_exec.so expose_authtok quiet log=${prefix}/helper.log ${helper}\n` +
        `account required pam_exec.so quiet log=${prefix}/helper.log ${helper}\n`,
    );
    step(`installed with install.sh --mode bundle into ${prefix}; PAM service /etc/pam.d/${service}:`);
    for (const [what, user, op, password] of questions) {
      const r = await sh("pamtester", [service, user, op], `${password}\n`);
      const log = (await Deno.readTextFile(`${prefix}/helper.log`)).trim().split("\n").at(-1);
      say(`   ${what.padEnd(32)} pamtester: ${r.code === 0 ? "PAM_SUCCESS" : "refused"}; helper: ${log}`);
    }
  } else {
    step("not root or no pamtester: asking the helper directly, as pam_exec would:");
    for (const [what, user, op, password] of questions) {
      const env = { PAM_TYPE: op === "authenticate" ? "auth" : "account", PAM_USER: user, PAM_SERVICE: service };
      const r = await runHelper({ confDir: server.clientConfigDir, env, stdin: password });
      say(`   ${what.padEnd(32)} exit ${r.code}: ${r.stderr.trim().split("\n").at(-1)}`);
    }
  }
  const seen = (await server.log()).split("\n").filter((l) => l.includes(`service=${service}`)).length;
  step(`netauthd logged ${seen} decisions for service=${service}`);
} finally {
  await Deno.remove(`/etc/pam.d/${service}`).catch(() => {});
  await sh(`${ROOT}install.sh`, ["--uninstall", "--prefix", prefix]);
  await server.cleanup();
  await Deno.remove(prefix, { recursive: true });
  step("cleaned up: server stopped, temporary files and PAM service removed");
}
