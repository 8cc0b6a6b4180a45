import assert from "node:assert/strict";
import { dirname } from "../../src/paths.ts";
import { BROKER_SOCKET_UNIT, brokerSocketUnit, brokerUnit } from "../../src/install/broker_unit.ts";

const RUNTIME = "/l/runtime";
const unit = brokerUnit({
  launcher: "/usr/local/sbin/netauth-pam-helper",
  socket: "/l/runtime/broker/socket",
  runtimeDir: RUNTIME,
});
const settingsOf = (text: string) => (key: string) =>
  text.split("\n").filter((l) => l.startsWith(`${key}=`)).map((l) => l.slice(key.length + 1));
const settings = settingsOf(unit);

Deno.test("the broker's unit carries the hardening issue 20 lists", () => {
  assert.deepEqual(settings("NoNewPrivileges"), ["yes"]);
  assert.deepEqual(settings("ProtectSystem"), ["strict"]);
  assert.deepEqual(settings("PrivateTmp"), ["yes"]);
  assert.deepEqual(settings("ProtectHome"), ["yes"]);
  assert.deepEqual(settings("CapabilityBoundingSet"), [""]);
  assert.deepEqual(settings("RestrictAddressFamilies"), ["AF_UNIX AF_INET AF_INET6"]);
  assert.deepEqual(settings("Restart"), ["on-failure"]);
  assert.equal(settings("MemoryMax").length, 1);
  assert.deepEqual(settings("Nice"), ["-10"], "a login storm must not starve the broker");
});

Deno.test("it writes only the socket's directory and the outage record's (the cache's, else the runtime's tmp/)", () => {
  assert.deepEqual(settings("ReadWritePaths"), ["/l/runtime/broker /l/runtime/tmp"]);
  const cached = brokerUnit({
    launcher: "/x",
    socket: "/l/runtime/broker/socket",
    runtimeDir: RUNTIME,
    cacheDir: "/var/cache/netauth",
  });
  assert.match(cached, /^ReadWritePaths=\/l\/runtime\/broker \/var\/cache\/netauth$/m);
  assert.deepEqual(settings("ExecStart"), ["/usr/local/sbin/netauth-pam-helper --serve"]);
});

Deno.test("socket-activated: the socket unit holds root's socket; the service writes no socket directory", () => {
  const socket = settingsOf(brokerSocketUnit({ socket: "/l/runtime/broker/socket" }));
  assert.deepEqual(socket("ListenStream"), ["/l/runtime/broker/socket"]);
  assert.deepEqual(socket("SocketMode"), ["0600"]);
  assert.deepEqual(socket("DirectoryMode"), ["0700"]);
  assert.deepEqual([socket("SocketUser"), socket("SocketGroup")], [["root"], ["root"]]);
  assert.deepEqual(socket("RemoveOnStop"), ["yes"], "stopped, no socket is left: logins go direct without a word");
  assert.deepEqual(socket("WantedBy"), ["sockets.target"]);
  const activated = (cacheDir?: string) =>
    settingsOf(
      brokerUnit({
        launcher: "/x",
        socket: "/l/runtime/broker/socket",
        runtimeDir: RUNTIME,
        activated: true,
        cacheDir,
      }),
    );
  assert.deepEqual(activated()("ReadWritePaths"), ["/l/runtime/tmp"], "systemd made the socket: only the record");
  assert.deepEqual(activated("/var/cache/na")("ReadWritePaths"), ["/var/cache/na"]);
  assert.deepEqual(activated()("Requires"), [BROKER_SOCKET_UNIT]);
  assert.deepEqual(activated()("Also"), [BROKER_SOCKET_UNIT]);
  assert.deepEqual(activated()("WantedBy"), [], "the socket starts it, not the boot");
});

const analyze = new Deno.Command("sh", { args: ["-c", "command -v systemd-analyze"] }).outputSync().success;

Deno.test({
  name: "systemd-analyze verifies the unit, and rates its exposure OK (below 3.0) offline",
  ignore: !analyze,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "netauth-unit-" });
    try {
      // verify needs ExecStart to exist: a stand-in launcher.
      await Deno.mkdir(`${dir}/sbin`);
      await Deno.writeTextFile(`${dir}/sbin/netauth-pam-helper`, "#!/bin/sh\n", { mode: 0o755 });
      const spec = {
        launcher: `${dir}/sbin/netauth-pam-helper`,
        socket: `${dir}/runtime/broker/socket`,
        runtimeDir: `${dir}/runtime`,
      };
      // install.sh's service alone, then the package's socket-activated pair (verified together: Requires=).
      for (const activated of [false, true]) {
        const unit = `${dir}/${activated ? "activated" : "plain"}/netauth-pam-helper.service`;
        await Deno.mkdir(dirname(unit));
        await Deno.writeTextFile(unit, brokerUnit({ ...spec, activated }));
        const units = [unit];
        if (activated) {
          units.push(`${dirname(unit)}/${BROKER_SOCKET_UNIT}`);
          await Deno.writeTextFile(units[1], brokerSocketUnit(spec));
        }
        const verify = await new Deno.Command("systemd-analyze", { args: ["verify", ...units] }).output();
        const said = new TextDecoder().decode(verify.stderr) + new TextDecoder().decode(verify.stdout);
        assert.equal(verify.code, 0, said);
        assert.equal(said.trim(), "", said);
        const security = await new Deno.Command("systemd-analyze", { args: ["security", "--offline=yes", unit] })
          .output();
        const score = /Overall exposure level for \S+: (\d+\.\d)/.exec(new TextDecoder().decode(security.stdout));
        assert.ok(score && Number(score[1]) < 3, new TextDecoder().decode(security.stdout).slice(-300));
        console.log(`${activated ? "socket-activated" : "install.sh"} service: exposure ${score[1]}`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
