// --verify and --check vouch for the broker that is listening, not only for the files (issue 27 item 6). The attack
// it answers: a bundle chunk patched, a broker started by hand from it, the file restored byte for byte. The files
// then verify clean; the broker still runs the patched code. Also: a broker left running after the files were
// upgraded (no systemd to restart it). install.sh --broker into a temporary prefix, the broker started by hand as
// tests/e2e/broker_test.ts does, against the real netauthd.
import assert from "node:assert/strict";
import { type NetAuthd, startNetAuthd } from "../../testkit/netauthd.ts";
import { makeConfDir } from "../../testkit/run_helper.ts";
import { type Broker, watchBroker } from "../../testkit/broker.ts";
import { sha256Hex } from "../../src/digest.ts";
import { e2eTest, installHelper, missingPrerequisite, ROOT, sh } from "./pam.ts";

const missing = await missingPrerequisite();
const UNIT = "/etc/systemd/system/netauth-pam-helper.service";
const encoder = new TextEncoder();

e2eTest(
  "--verify and --check vouch for the listening broker: patched and restored, or an older build",
  missing,
  async (t) => {
    assert.ok(!(await Deno.lstat(UNIT).catch(() => undefined)), `${UNIT} exists already: this test would replace it`);
    const prefix = await Deno.makeTempDir({ prefix: "netauth-prefix-" });
    await Deno.chmod(prefix, 0o755);
    let server: NetAuthd | undefined;
    let broker: Broker | undefined;
    let confDir: string | undefined;
    try {
      server = await startNetAuthd();
      confDir = await makeConfDir(await Deno.readTextFile(server.clientConfig), await Deno.readTextFile(server.caPath));
      await installHelper(prefix, confDir!, "--broker");
      const helper = `${prefix}/sbin/netauth-pam-helper`;
      const socket = `${prefix}/lib/netauth-pam-helper/runtime/broker/socket`;
      const manifestPath = `${prefix}/lib/netauth-pam-helper/manifest.json`;
      const manifest = JSON.parse(Deno.readTextFileSync(manifestPath));
      // The chunk --serve loads, patched by one byte in a string: still valid code, no longer the installed code.
      const chunk: string = manifest.files.map((f: { path: string }) => f.path).find((path: string) =>
        path.endsWith(".js") && path !== manifest.artefact && Deno.readTextFileSync(path).includes("broker stopped")
      );
      assert.ok(chunk, "no chunk holds the broker's code");
      const original = Deno.readFileSync(chunk);
      const patched = encoder.encode(Deno.readTextFileSync(chunk).replace("broker stopped", "broker stoppeD"));
      assert.equal(patched.length, original.length);

      const verify = (...words: string[]) => sh(`${ROOT}install.sh`, ["--verify", "--prefix", prefix, ...words]);
      const check = () => sh(helper, ["--check"]);
      const start = async () =>
        broker = await watchBroker(
          new Deno.Command(helper, { args: ["--serve"], stdin: "null", stdout: "null", stderr: "piped" }).spawn(),
        );
      const clean = async () => {
        const verified = await verify();
        assert.equal(verified.code, 0, verified.output);
        assert.match(verified.output, /^ok broker PID \d+ command: \S+\/deno run .* --serve$/m);
        assert.match(verified.output, /^ok broker PID \d+ started \S+, after its files last changed$/m);
        assert.match(
          verified.output,
          new RegExp(`^ok broker ${socket} code: it started from the installed files`, "m"),
        );
        const checked = await check();
        assert.equal(checked.code, 0, checked.output);
        assert.match(
          checked.output,
          new RegExp(`^broker: ok ${socket} greeted in \\d+ ms, started from the installed files: logins go`, "m"),
        );
      };

      await t.step("no broker: --verify says so and is clean", async () => {
        const verified = await verify();
        assert.equal(verified.code, 0, verified.output);
        assert.match(
          verified.output,
          new RegExp(`^ok broker ${socket}: no broker listening \\(logins go direct\\)$`, "m"),
        );
      });

      await t.step("a broker started from the installed files: --verify and --check vouch for it", async () => {
        await start();
        await clean();
        const json = JSON.parse((await verify("--json")).output);
        const kinds = json.checks.filter((c: { kind: string }) => c.kind === "broker");
        assert.ok(kinds.length >= 4, JSON.stringify(kinds));
        await broker!.stop();
      });

      await t.step("a chunk patched, the broker started from it, the file restored byte for byte", async () => {
        Deno.writeFileSync(chunk, patched);
        await start();
        Deno.writeFileSync(chunk, original); // the same inode, the same bytes, the same mode: only its ctime tells
        assert.equal(
          await sha256Hex(Deno.readFileSync(chunk)),
          manifest.files.find((f: { path: string }) => f.path === chunk).sha256,
        );
        const verified = await verify();
        assert.equal(verified.code, 1, verified.output);
        assert.match(verified.output, new RegExp(`^ok sha256 ${chunk}: `, "m")); // the files alone are clean
        assert.match(
          verified.output,
          new RegExp(`^DRIFT broker PID \\d+ started \\S+, before ${chunk} changed \\(\\S+\\): restart it`, "m"),
        );
        assert.match(
          verified.output,
          new RegExp(
            `^DRIFT broker ${socket} code: it found its code wrong at its start: ${chunk} does not match`,
            "m",
          ),
        );
        const quiet = await verify("--quiet");
        assert.equal(quiet.code, 1);
        assert.deepEqual(quiet.output.trim().split("\n").slice(0, -1).map((l) => l.split(" ").slice(0, 2).join(" ")), [
          "DRIFT broker",
          "DRIFT broker",
        ]);
        const json = JSON.parse((await verify("--json")).output);
        assert.equal(json.status, 1);
        assert.deepEqual(
          json.checks.filter((c: { result: string }) => c.result === "drift").map((c: { kind: string }) => c.kind),
          ["broker", "broker"],
        );
        const checked = await check();
        assert.equal(checked.code, 3, checked.output);
        assert.match(
          checked.output,
          new RegExp(
            `^broker: FAIL ${socket} greeted, but it found its code wrong at its start: ${chunk} does not`,
            "m",
          ),
        );
      });

      await t.step("the broker restarted from the installed files: clean again", async () => {
        await broker!.stop();
        await start();
        await clean();
      });

      await t.step("files upgraded while an older build's broker keeps running: DRIFT until it restarts", async () => {
        // An upgrade that changed one chunk: the new file in place and the manifest recording it, as install.sh
        // writes them. Nothing restarts a hand-started broker (systemd is not PID 1 here).
        Deno.writeFileSync(chunk, patched);
        const entry = manifest.files.find((f: { path: string }) => f.path === chunk);
        entry.sha256 = await sha256Hex(patched);
        Deno.writeTextFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
        const verified = await verify();
        assert.equal(verified.code, 1, verified.output);
        assert.match(verified.output, new RegExp(`^ok sha256 ${chunk}: `, "m"));
        assert.match(verified.output, /^DRIFT broker PID \d+ started \S+, before \S+ changed \(\S+\): restart it/m);
        assert.match(
          verified.output,
          new RegExp(`^DRIFT broker ${socket} code: it started from code other than the installed files`, "m"),
        );
        const checked = await check();
        assert.equal(checked.code, 3, checked.output);
        assert.match(checked.output, /^broker: FAIL \S+ greeted, but it started from code other than the installed/m);
        await broker!.stop();
        await start();
        await clean();
        await broker!.stop();
      });
    } finally {
      broker?.signal("SIGKILL");
      const un = await sh(`${ROOT}install.sh`, ["--uninstall", "--prefix", prefix]);
      assert.equal(un.code, 0, un.output);
      await server?.cleanup();
      await Deno.remove(prefix, { recursive: true });
      if (confDir) await Deno.remove(confDir, { recursive: true });
    }
  },
);
