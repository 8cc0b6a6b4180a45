// Issue 28: logins started all at once each started a Deno runtime, shared two cores evenly and reached the deadline
// together: none got in. With the launcher's admission control (src/install/launcher.ts) at most N run at once and
// the rest wait for a slot, so most get in. Local accounts never reach the helper, so a storm cannot hold them up.
import assert from "node:assert/strict";
import { ALICE_SECRET } from "../../testkit/netauthd.ts";
import { defaultLoginSlots } from "../../src/install/launcher.ts";
import { slotDir } from "../../src/runtime_dir.ts";
import { storm } from "./admission_storm.ts";
import {
  addLocalUser,
  e2eTest,
  missingPrerequisite,
  pamtester,
  removeLocalUser,
  ROOT,
  shippedPamExecLines,
  withInstalledHelper,
} from "./pam.ts";

const missing = await missingPrerequisite();
/** Logins in the storm and their --timeout: about 1.3 times as many as 2 cores start in that time (docs/performance.md). */
const STORM = 90;
const TIMEOUT_S = 8;

/** The launcher as it was before admission control: the same text without its admission block. */
function withoutAdmission(launcher: string): string {
  const stripped = launcher.replace(/# Admission control[\s\S]*?"\$started_ms" "\$@"\nfi\n/, "");
  assert.notEqual(stripped, launcher, "no admission block found in the launcher");
  return stripped;
}

e2eTest(
  `${STORM} logins started at once (--timeout ${TIMEOUT_S}): most succeed, at most N runtimes at once`,
  missing,
  async () => {
    await withInstalledHelper(async ({ prefix }) => {
      const launcher = `${prefix}/sbin/netauth-pam-helper`;
      const service = `netauth-e2e-storm-${Deno.pid}`;
      const [auth] = shippedPamExecLines(launcher, `${prefix}/pam_exec.log`);
      await Deno.writeTextFile(`/etc/pam.d/${service}`, `${auth} --timeout ${TIMEOUT_S}\n`);
      try {
        const slots = defaultLoginSlots(navigator.hardwareConcurrency);
        const admitted = await storm({
          service,
          user: "alice",
          password: ALICE_SECRET,
          count: STORM,
          sampleRssOf: `${prefix}/lib/`,
        });
        // The control: the same storm through the launcher without admission control.
        const installed = await Deno.readTextFile(launcher);
        await Deno.writeTextFile(launcher, withoutAdmission(installed));
        const all = await storm({ service, user: "alice", password: ALICE_SECRET, count: STORM });
        await Deno.writeTextFile(launcher, installed);
        const counts = `with admission control ${admitted.ok} of ${STORM} succeeded, without it ${all.ok}`;
        assert.ok(admitted.ok > STORM / 2, counts);
        assert.ok(admitted.peakRuntimes <= slots, `${admitted.peakRuntimes} runtimes at once, ${slots} slots`);
        console.log(`${counts}; at most ${admitted.peakRuntimes} runtimes at once (${slots} slots)`);
      } finally {
        await Deno.remove(`/etc/pam.d/${service}`).catch(() => {});
      }
    });
  },
);

e2eTest(
  "every slot held: a local account still logs in through the shipped stack; a NetAuth one waits",
  missing,
  async () => {
    await withInstalledHelper(async ({ prefix }) => {
      const launcher = `${prefix}/sbin/netauth-pam-helper`;
      const log = `${prefix}/pam_exec.log`;
      const service = `netauth-e2e-slots-${Deno.pid}`;
      const localName = `naslots${Deno.pid % 100000}`;
      // pam.d/common-lines as shipped, the helper given a short deadline.
      const stack = Deno.readTextFileSync(`${ROOT}pam.d/common-lines`).split("\n").filter((l) => !l.startsWith("#"))
        .map((line) =>
          line.includes("pam_exec.so")
            ? `${
              line.replace("/usr/local/sbin/netauth-pam-helper", launcher).replace(/log=\S+/, `log=${log}`)
            } --timeout 2`
            : line
        ).join("\n");
      assert.match(stack, /pam_unix\.so[\s\S]*pam_localuser\.so[\s\S]*pam_exec\.so/);
      await Deno.writeTextFile(`/etc/pam.d/${service}`, stack);
      const slots = defaultLoginSlots(navigator.hardwareConcurrency);
      const dir = slotDir(`${prefix}/lib/netauth-pam-helper/runtime`);
      await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
      // Held as running helpers hold them: a lock on each slot file, by processes of their own.
      const holders = [...Array(slots).keys()].map((i) =>
        new Deno.Command("/usr/bin/flock", { args: ["-o", `${dir}/${i}`, "/bin/sleep", "60"] }).spawn()
      );
      try {
        await addLocalUser(localName, { password: "local-pw" });
        await new Promise((r) => setTimeout(r, 200));
        const lines = async () => (await Deno.readTextFile(log).catch(() => "")).trim().split("\n").filter(Boolean);
        const local = await pamtester(service, localName, "authenticate", "local-pw");
        assert.equal(local.code, 0, local.output);
        assert.deepEqual(await lines(), [], "the local account reached the helper");
        const netauth = await pamtester(service, "alice", "authenticate", ALICE_SECRET);
        assert.notEqual(netauth.code, 0, netauth.output);
        assert.match((await lines()).at(-1) ?? "", /outcome=deadline exit=9 waited=\d+ ms=\d+$/);
      } finally {
        for (const holder of holders) holder.kill("SIGKILL");
        await Promise.all(holders.map((h) => h.status));
        await removeLocalUser(localName);
        await Deno.remove(`/etc/pam.d/${service}`).catch(() => {});
      }
    });
  },
);
