import assert from "node:assert/strict";
import { HelperError } from "../src/errors.ts";
import { MAX_SECRET_BYTES, readPamRequest, readSecret } from "../src/pam_request.ts";

const envOf = (vars: Record<string, string>) => (name: string) => vars[name];
const streamOf = (...chunks: Uint8Array[]) => ReadableStream.from(chunks);
const bytes = (text: string) => new TextEncoder().encode(text);

async function secretFailure(...chunks: Uint8Array[]): Promise<HelperError> {
  try {
    await readSecret(streamOf(...chunks));
  } catch (err) {
    assert.ok(err instanceof HelperError);
    return err;
  }
  assert.fail("expected the secret to be refused");
}

Deno.test("the request comes from PAM_* only; absent optional items stay undefined", () => {
  const request = readPamRequest(envOf({ PAM_TYPE: "auth", PAM_USER: "alice", PAM_SERVICE: "sshd", PAM_RHOST: "" }));
  assert.deepEqual(request, {
    type: "auth",
    entity: "alice",
    service: "sshd",
    rhost: undefined,
    ruser: undefined,
    tty: undefined,
  });
  const consulted: string[] = [];
  readPamRequest((name) => (consulted.push(name), { PAM_TYPE: "account", PAM_USER: "bob" }[name]));
  assert.ok(consulted.every((name) => name.startsWith("PAM_")), consulted.join());
});

Deno.test("unsupported or missing PAM_TYPE and missing PAM_USER exit 3", () => {
  const cases: Record<string, string>[] = [{}, { PAM_TYPE: "password", PAM_USER: "a" }, {
    PAM_TYPE: "open_session",
    PAM_USER: "a",
  }, { PAM_TYPE: "auth" }];
  for (const vars of cases) {
    assert.throws(() => readPamRequest(envOf(vars)), (err: HelperError) => err.exit === 3, JSON.stringify(vars));
  }
});

Deno.test("a PAM_USER that cannot be an entity ID exits 10", () => {
  const bad = ["../etc", "-rf", "a b", "a\nb", "x".repeat(129), "tab\t", "ä", "a/b", "a:b", ".hidden"];
  for (const user of bad) {
    assert.throws(
      () => readPamRequest(envOf({ PAM_TYPE: "auth", PAM_USER: user })),
      (err: HelperError) => err.exit === 10 && !/\n/.test(err.message),
      JSON.stringify(user),
    );
  }
  for (const user of ["alice", "a.b-c_d", "svc@realm", "x".repeat(128), "0day"]) {
    assert.equal(readPamRequest(envOf({ PAM_TYPE: "auth", PAM_USER: user })).entity, user);
  }
});

Deno.test("stdin framing: bytes as sent, at most one trailing NUL stripped, nothing trimmed", async () => {
  assert.deepEqual(await readSecret(streamOf(bytes("pa ss\n"))), bytes("pa ss\n"));
  assert.deepEqual(await readSecret(streamOf(bytes("secret\0"))), bytes("secret"));
  assert.deepEqual(await readSecret(streamOf(bytes("sec"), bytes("ret"))), bytes("secret"));
  assert.deepEqual(await readSecret(streamOf(bytes("päss"))), bytes("päss"));
  const nested = await secretFailure(bytes("secret\0\0"));
  assert.equal(nested.exit, 7);
  assert.match(nested.message, /NUL/);
  assert.match((await secretFailure(bytes("a\0b"))).message, /NUL/);
});

Deno.test("a secret that is not UTF-8 is kept byte for byte, as NetAuth stores it", async () => {
  for (const raw of [[0x65, 0x72, 0x69, 0x6e, 0x2d, 0xe9], [0x70, 0xff, 0xfe], [0xc3, 0x28], [0xed, 0xa0, 0x80]]) {
    assert.deepEqual(await readSecret(streamOf(Uint8Array.from(raw))), Uint8Array.from(raw));
  }
});

Deno.test("512 bytes pass, 513 are refused; a trailing NUL does not count", async () => {
  const max = "x".repeat(MAX_SECRET_BYTES);
  assert.deepEqual(await readSecret(streamOf(bytes(max))), bytes(max));
  assert.deepEqual(await readSecret(streamOf(bytes(max + "\0"))), bytes(max));
  const over = await secretFailure(bytes(max + "y"));
  assert.equal(over.exit, 7);
  assert.equal(over.outcome, "oversized_secret");
});

Deno.test("reading stops at the cap: an endless stdin cannot hold the helper", async () => {
  let pulled = 0;
  const endless = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled++;
      controller.enqueue(new Uint8Array(100).fill(65));
    },
  });
  const err = await readSecret(endless).catch((e) => e);
  assert.equal(err.exit, 7);
  assert.ok(pulled <= 7, `pulled ${pulled} chunks`);
});

Deno.test("empty secrets and a NUL inside exit 7 without echoing the input", async () => {
  for (const chunk of [new Uint8Array(), new Uint8Array([0]), new Uint8Array([0x70, 0, 0xfe])]) {
    const err = await secretFailure(chunk);
    assert.equal(err.exit, 7);
    assert.doesNotMatch(err.message, /\xfe|p\W/);
  }
});

Deno.test("the stdin bytes are zeroed where the helper can reach them", async () => {
  const chunk = bytes("hunter2");
  const secret = await readSecret(streamOf(chunk));
  assert.deepEqual(chunk, new Uint8Array(7), "the chunk read from stdin still holds the secret");
  secret.fill(0);
  const refused = bytes("a\0b");
  await secretFailure(refused);
  assert.deepEqual(refused, new Uint8Array(3));
});

/** A ReadInto over `chunks`, one chunk (or what fits) per read, like a pipe. */
function readerOf(...chunks: Uint8Array[]) {
  const left = chunks.map((c) => c.slice());
  let reads = 0;
  const read = (into: Uint8Array) => {
    reads++;
    const chunk = left[0];
    if (!chunk) return Promise.resolve(null);
    const n = Math.min(chunk.length, into.length);
    into.set(chunk.subarray(0, n));
    left[0] = chunk.subarray(n);
    if (left[0].length === 0) left.shift();
    return Promise.resolve(n);
  };
  return { read, reads: () => reads };
}

Deno.test("plain reads (what the helper uses: no stream) give the same bytes, framing and limits", async () => {
  assert.deepEqual(await readSecret(readerOf(bytes("pa"), bytes("ss\n"), Uint8Array.of(0)).read), bytes("pass\n"));
  const endless = readerOf(...Array.from({ length: 100 }, () => bytes("x".repeat(100))));
  await assert.rejects(readSecret(endless.read), /password longer than 512 bytes/);
  assert.ok(endless.reads() <= 7, `read ${endless.reads()} times past the cap`);
  await assert.rejects(readSecret(readerOf().read), /no password on stdin/);
  await assert.rejects(readSecret(readerOf(bytes("a\0b")).read), /contains a NUL byte/);
});
