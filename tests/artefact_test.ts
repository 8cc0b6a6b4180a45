import assert from "node:assert/strict";
import { chunksOf, compareArtefact, compareChunks } from "../src/artefact.ts";
import { sha256Hex } from "../src/digest.ts";

const ARTEFACT = "/usr/local/lib/netauth-pam-helper/netauth-pam-helper.js";
const MANIFEST = "/usr/local/lib/netauth-pam-helper/manifest.json";
const manifest = {
  artefact: ARTEFACT,
  files: [{ path: ARTEFACT, sha256: "a".repeat(64), uid: 0, gid: 0, mode: "0644" }],
};

Deno.test("sha256Hex is the SHA-256 reviewers get from sha256sum", async () => {
  assert.equal(
    await sha256Hex(new TextEncoder().encode("abc")),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
});

Deno.test("the recorded artefact with the recorded hash: no problem", () => {
  const state = compareArtefact({ path: ARTEFACT, sha256: "a".repeat(64) }, MANIFEST, manifest);
  assert.equal(state.problem, undefined);
  assert.equal(state.expected, "a".repeat(64));
});

Deno.test("a changed artefact, another file, an unreadable one or no manifest: each a problem", () => {
  const problem = (running: Parameters<typeof compareArtefact>[0], m: Parameters<typeof compareArtefact>[2]) =>
    compareArtefact(running, MANIFEST, m).problem;
  assert.equal(
    problem({ path: ARTEFACT, sha256: "b".repeat(64) }, manifest),
    `${ARTEFACT} does not match the manifest (changed since install?)`,
  );
  assert.equal(
    problem({ path: "/tmp/stage/netauth-pam-helper.js", sha256: "a".repeat(64) }, manifest),
    `runs /tmp/stage/netauth-pam-helper.js, but the manifest's artefact is ${ARTEFACT}`,
  );
  assert.equal(
    problem({ path: ARTEFACT, error: "cannot be read (NotCapable)" }, manifest),
    `${ARTEFACT} cannot be read (NotCapable)`,
  );
  assert.equal(
    problem({ path: ARTEFACT, sha256: "a".repeat(64) }, { error: "cannot be read (NotFound)" }),
    `${MANIFEST} cannot be read (NotFound): re-run install.sh`,
  );
  assert.equal(
    problem({ path: ARTEFACT, sha256: "a".repeat(64) }, { artefact: ARTEFACT, files: [] }),
    `the manifest records no SHA-256 for ${ARTEFACT}`,
  );
});

Deno.test("bundle chunks: the other .js files beside the entry, each held to its recorded hash", () => {
  const chunk = "/usr/local/lib/netauth-pam-helper/grpc_client-ABC.js";
  const m = {
    artefact: ARTEFACT,
    files: [
      ...manifest.files,
      { path: chunk, sha256: "c".repeat(64), uid: 0, gid: 0, mode: "0644" },
      { path: "/usr/local/sbin/netauth-pam-helper", sha256: "d".repeat(64), uid: 0, gid: 0, mode: "0755" },
    ],
  };
  assert.deepEqual(chunksOf(m), [chunk]);
  assert.equal(compareChunks([{ path: chunk, sha256: "c".repeat(64) }], m), undefined);
  assert.equal(
    compareChunks([{ path: chunk, sha256: "e".repeat(64) }], m),
    `${chunk} does not match the manifest (changed since install?)`,
  );
  assert.equal(
    compareChunks([{ path: chunk, error: "cannot be read (NotFound)" }], m),
    `${chunk} cannot be read (NotFound)`,
  );
});
