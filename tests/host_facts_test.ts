// The launcher's host facts for --check --user: the sh that gathers them, run for real, and their parser.
import assert from "node:assert/strict";
import { FactsError, HOST_FACTS_SH, MAX_FACTS_BYTES, parseHostFacts, readHostFacts } from "../src/host_facts.ts";

/** Runs the launcher's host_facts function for `name` with `euid` set, as the launcher does. */
async function gather(name: string, euid = Deno.uid()): Promise<string> {
  const out = await new Deno.Command("/bin/sh", {
    args: ["-c", `euid=${euid}\n${HOST_FACTS_SH}\nhost_facts "$1"`, "sh", name],
    clearEnv: true,
    env: { PATH: "/nonexistent" }, // every program is named by its absolute path
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout);
}

Deno.test("the sh gathers /etc/passwd, NSS, the shadow entry's shape and the PAM files, and they parse", async () => {
  const facts = parseHostFacts(await gather("root"));
  assert.equal(facts.user, "root");
  assert.equal(facts.euid, Deno.uid());
  assert.match(facts.passwdFile ?? "", /^root:/m);
  assert.equal(facts.passwd.status, 0);
  assert.match(facts.passwd.line ?? "", /^root:[^:]*:0:0:/);
  if (Deno.uid() === 0) {
    assert.equal(facts.shadow.status, 0);
    // The password field arrives as its shape only: no hash ever reaches the helper.
    assert.match(facts.shadow.line ?? "", /^root:[!*]*(HASH)?:/);
  }
  const pamDir = [...Deno.readDirSync("/etc/pam.d")].filter((e) => e.isFile).map((e) => `/etc/pam.d/${e.name}`);
  for (const path of pamDir) assert.equal(facts.pamFiles.get(path), Deno.readTextFileSync(path).replace(/\n?$/, "\n"));
});

Deno.test("a name NSS does not know: getent's status 2 and no entry", async () => {
  const facts = parseHostFacts(await gather(`netauth-nobody-${Deno.pid}`));
  assert.equal(facts.passwd.status, 2);
  assert.equal(facts.passwd.line, undefined);
  assert.equal(facts.shadow.line, undefined);
});

Deno.test("a name that is not an entity ID is looked up nowhere", async () => {
  for (const name of ["", "-x", ".x", "a:b", "a b", "$(id)", "a\nb"]) {
    assert.equal(await gather(name), `@netauth-host-facts 1\n@euid ${Deno.uid()}\n`, JSON.stringify(name));
    assert.throws(() => parseHostFacts(`@netauth-host-facts 1\n@euid 0\n`), /looked up no name/);
  }
});

Deno.test("anything but the launcher's facts is refused with one line", () => {
  assert.throws(() => parseHostFacts(""), FactsError);
  assert.throws(() => parseHostFacts("hello\n"), /stdin does not hold the launcher's host facts/);
  assert.throws(() => parseHostFacts("@netauth-host-facts 1\n@euid 0\n@user a\nroot:x\n"), /unexpected line/);
  assert.throws(() => parseHostFacts("@netauth-host-facts 1\n@euid 0\n@user a\n@bogus\n"), /unexpected section/);
  assert.throws(() => parseHostFacts("@netauth-host-facts 1\n@user a\n"), /do not say the launcher's uid/);
});

Deno.test("stdin is read to its end, within MAX_FACTS_BYTES and the deadline", async () => {
  const stream = (chunks: Uint8Array[], end = true) =>
    new ReadableStream<Uint8Array>({
      start(c) {
        for (const chunk of chunks) c.enqueue(chunk);
        if (end) c.close();
      },
    });
  const text = new TextEncoder().encode("@netauth-host-facts 1\n@euid 0\n@user alice\n");
  assert.equal((await readHostFacts(stream([text]), Date.now() + 5000)).user, "alice");
  const big = new Uint8Array(MAX_FACTS_BYTES + 1);
  await assert.rejects(readHostFacts(stream([big]), Date.now() + 5000), /exceed/);
  await assert.rejects(readHostFacts(stream([text], false), Date.now() + 50), /did not end before the deadline/);
});
