// The broker's word about its code, and how --check and --verify judge it (src/broker/vouch.ts).
import assert from "node:assert/strict";
import {
  brokerFiles,
  changedSince,
  codeDigest,
  expectedCode,
  startStatus,
  statusProblem,
  vouchForBroker,
} from "../../src/broker/vouch.ts";
import { decodeFrame, encodeStatus, Kind, readFrame } from "../../src/broker/protocol.ts";
import { sha256Hex } from "../../src/digest.ts";
import type { Manifest } from "../../src/manifest_format.ts";

const file = (path: string, sha256: string, mode = "0644") => ({ path, sha256, uid: 0, gid: 0, mode });
const manifest = (over: Partial<Manifest> = {}): Manifest => ({
  format: "netauth-pam-helper/manifest/v1",
  name: "netauth-pam-helper",
  version: "0.1.0",
  source: null,
  deno: "2.9.6",
  denoLockSha256: "",
  mode: "bundle",
  prefix: "/usr/local",
  artefact: "/usr/local/lib/netauth-pam-helper/main.js",
  launcher: "/usr/local/sbin/netauth-pam-helper",
  sandbox: [],
  runtimeDirs: [],
  pam: { debianProfile: null },
  log: null,
  files: [
    file("/usr/local/lib/netauth-pam-helper/main.js", "aa"),
    file("/usr/local/lib/netauth-pam-helper/chunk-1.js", "bb"),
    file("/usr/local/lib/netauth-pam-helper/deno", "cc", "0755"),
    file("/usr/local/sbin/netauth-pam-helper", "dd", "0755"),
  ],
  ...over,
});

Deno.test("the expected code is the manifest's artefact and chunks, and nothing else", async () => {
  const m = manifest();
  assert.equal(
    await expectedCode(m),
    await codeDigest([{ path: m.artefact, sha256: "aa" }, {
      path: "/usr/local/lib/netauth-pam-helper/chunk-1.js",
      sha256: "bb",
    }]),
  );
  // A changed runtime or launcher is not code the broker hashes (its ctime and command line cover those).
  const other = manifest({ files: m.files.map((f) => f.path.endsWith("deno") ? { ...f, sha256: "ee" } : f) });
  assert.equal(await expectedCode(other), await expectedCode(m));
  const chunk = manifest({ files: m.files.map((f) => f.path.endsWith("chunk-1.js") ? { ...f, sha256: "ff" } : f) });
  assert.notEqual(await expectedCode(chunk), await expectedCode(m));
  // Compile mode: the binary alone.
  const compiled = manifest({ mode: "compile", artefact: "/usr/local/lib/netauth-pam-helper/deno" });
  assert.equal(await expectedCode(compiled), await codeDigest([{ path: compiled.artefact, sha256: "cc" }]));
});

Deno.test("statusProblem: the broker's own word against the installed code", () => {
  const ok = { version: "0.1.0", startedMs: 1, code: "ab".repeat(32), problem: "" };
  assert.equal(statusProblem(ok, "ab".repeat(32)), undefined);
  assert.match(
    statusProblem(ok, "cd".repeat(32))!,
    /^it started from code other than the installed files \(version 0\.1\.0, code abababababab…, the manifest's cdcdcdcdcdcd…\): an older build/,
  );
  assert.equal(
    statusProblem({ ...ok, problem: "/x/chunk.js does not match the manifest (changed since install?)" }, ok.code),
    "it found its code wrong at its start: /x/chunk.js does not match the manifest (changed since install?)",
  );
  assert.equal(statusProblem({ ...ok, code: "" }, ok.code), "it could not hash its code at its start");
  assert.equal(
    statusProblem({ why: "it refused: unknown frame kind 5" }, ok.code),
    "it does not say which code it runs (it refused: unknown frame kind 5; an older build?)",
  );
});

Deno.test("changedSince: the newest change after the start, beyond the clocks' slack", () => {
  const files = [{ path: "/a", ctimeMs: 1000 }, { path: "/b", ctimeMs: 1030 }];
  assert.equal(changedSince(1000, files, 20)?.path, "/b");
  assert.equal(changedSince(1010, files, 20), undefined);
  assert.equal(changedSince(2000, files, 0), undefined);
  assert.equal(changedSince(0, [], 0), undefined);
});

Deno.test("brokerFiles: the code, the executables and the manifest, not the man page", () => {
  const m = manifest();
  m.files.push(file("/usr/local/share/man/man8/netauth-pam-helper.8", "ee"));
  assert.deepEqual(brokerFiles(m), [
    "/usr/local/lib/netauth-pam-helper/main.js",
    "/usr/local/lib/netauth-pam-helper/chunk-1.js",
    "/usr/local/lib/netauth-pam-helper/deno",
    "/usr/local/sbin/netauth-pam-helper",
    "/usr/local/lib/netauth-pam-helper/manifest.json",
  ]);
});

Deno.test("startStatus without an install says it cannot tell; its answer survives the frame", async () => {
  const status = await startStatus(undefined, 1234.6)();
  assert.deepEqual([status.startedMs, status.code, status.problem], [1235, "", "not installed (no --runtime-dir)"]);
  assert.deepEqual(decodeFrame(encodeStatus(status).subarray(4)), { kind: "status", status });
  // An install directory without a manifest: a problem, never a throw.
  const dir = await Deno.makeTempDir();
  try {
    const missing = await startStatus(dir, 1)();
    assert.match(missing.problem, /manifest\.json cannot be read \(NotFound\)/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A connection that answers the ASK with `reply` and records what was written. */
function fakeConn(reply: Uint8Array): Deno.Conn & { written: Uint8Array[] } {
  let at = 0;
  const written: Uint8Array[] = [];
  return {
    written,
    write: (bytes: Uint8Array) => (written.push(bytes.slice()), Promise.resolve(bytes.length)),
    read: (into: Uint8Array) => {
      if (at >= reply.length) return Promise.resolve(null);
      const n = Math.min(into.length, reply.length - at);
      into.set(reply.subarray(at, at + n));
      at += n;
      return Promise.resolve(n);
    },
  } as unknown as Deno.Conn & { written: Uint8Array[] };
}

Deno.test("vouchForBroker: --check's verdict from the broker's answer, the manifest and the files' ctimes", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const artefact = `${dir}/main.js`;
    Deno.writeTextFileSync(artefact, "code");
    const m = manifest({
      artefact,
      mode: "compile",
      files: [file(artefact, await sha256Hex(new TextEncoder().encode("code")))],
    });
    Deno.writeTextFileSync(`${dir}/manifest.json`, JSON.stringify(m));
    const code = await expectedCode(m);
    const later = Date.now() + 10_000;
    const good = fakeConn(encodeStatus({ version: "0.1.0", startedMs: later, code, problem: "" }));
    assert.equal(await vouchForBroker(good, dir), undefined);
    const asked = await readFrame(fakeConn(good.written[0]).read);
    assert.deepEqual([asked![1]], [Kind.ASK]);
    // Started before the files changed (a whole second before: Deno's ctimes are whole seconds).
    const early = fakeConn(encodeStatus({ version: "0.1.0", startedMs: Date.now() - 5000, code, problem: "" }));
    assert.match(
      (await vouchForBroker(early, dir))!,
      new RegExp(`^it started at \\S+, before ${dir}/main\\.js changed \\(\\S+\\): restart it`),
    );
    const other = fakeConn(encodeStatus({ version: "0.0.9", startedMs: later, code: "0".repeat(64), problem: "" }));
    assert.match(
      (await vouchForBroker(other, dir))!,
      /^it started from code other than the installed files .*: restart it/,
    );
    const silent = fakeConn(new Uint8Array());
    assert.match(
      (await vouchForBroker(silent, dir))!,
      /^it does not say which code it runs \(it closed the connection; an older build\?\)/,
    );
    const noManifest = await Deno.makeTempDir();
    assert.match(
      (await vouchForBroker(fakeConn(new Uint8Array()), noManifest))!,
      /manifest\.json cannot be read \(NotFound\)/,
    );
    await Deno.remove(noManifest);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
