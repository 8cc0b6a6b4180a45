import assert from "node:assert/strict";
import { closedToOthers, type Fs, trustProblem, walkModes, type WalkResult } from "../src/file_modes.ts";

interface Node {
  uid?: number;
  mode: number;
  link?: string;
  dir?: boolean;
}

/** An in-memory tree: `hidden` paths answer NotCapable, as the sandbox does above its grant. */
function fakeFs(nodes: Record<string, Node>, hidden: string[] = []): Fs {
  const base: Record<string, Node> = { "/": { mode: 0o755, dir: true }, "/etc": { mode: 0o755, dir: true } };
  const all = { ...base, ...nodes };
  const lstat = (raw: string): Promise<Deno.FileInfo> => {
    const path = normalize(raw);
    if (hidden.includes(path)) return Promise.reject(new Deno.errors.NotCapable(path));
    const node = all[path];
    if (!node) return Promise.reject(new Deno.errors.NotFound(path));
    const type = node.link !== undefined ? 0o120000 : node.dir ? 0o040000 : 0o100000;
    return Promise.resolve({
      uid: node.uid ?? 0,
      mode: type | node.mode,
      isDirectory: !!node.dir,
      isSymlink: node.link !== undefined,
      isFile: !node.dir && node.link === undefined,
    } as Deno.FileInfo);
  };
  const target = (path: string) => {
    const link = all[path].link!;
    return link.startsWith("/") ? link : `${path.slice(0, path.lastIndexOf("/"))}/${link}`;
  };
  return {
    lstat,
    readLink: (path) => Promise.resolve(all[path].link!),
    // Follows links without asking about hidden paths: the sandbox checks the path as given.
    stat: async (path) => {
      let info = await lstat(path);
      for (let p = path; info.isSymlink;) {
        p = target(p);
        info = await fakeFs(nodes).lstat(p);
      }
      return info;
    },
  };
}

/** "a/b/../c" as the kernel resolves it when no link is involved. */
function normalize(path: string): string {
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "..") parts.pop();
    else if (part && part !== ".") parts.push(part);
  }
  return `/${parts.join("/")}`;
}

const ETC_NETAUTH = {
  "/etc/netauth": { mode: 0o755, dir: true },
  "/etc/netauth/config.toml": { mode: 0o644 },
  "/etc/netauth/keys": { mode: 0o755, dir: true },
  "/etc/netauth/keys/tls.pem": { mode: 0o644 },
};
const CONFIG = "/etc/netauth/config.toml";
const CERT = "/etc/netauth/keys/tls.pem";

function walk(path: string, nodes: Record<string, Node>, uid: number | null = 0, hidden: string[] = []) {
  return walkModes(path, { uid, fs: fakeFs({ ...ETC_NETAUTH, ...nodes }, hidden) });
}

function assertUnsafe(result: WalkResult, path: string, reason: string) {
  assert.equal(result.state, "unsafe", JSON.stringify(result));
  if (result.state === "unsafe") assert.deepEqual([result.path, result.reason], [path, reason]);
}

Deno.test("root-owned files and directories pass, every one up to / checked", async () => {
  const result = await walk(CERT, {});
  assert.equal(result.state, "ok");
  if (result.state === "ok") {
    assert.deepEqual(result.checked.map((c) => c.path), [CERT, "/etc/netauth/keys", "/etc/netauth", "/etc", "/"]);
  }
});

Deno.test("a config writable by others (666) is refused, naming path, owner and mode", async () => {
  assertUnsafe(
    await walk(CONFIG, { [CONFIG]: { mode: 0o666 } }),
    CONFIG,
    "is writable by group or others (owner uid 0, mode 666)",
  );
  assertUnsafe(
    await walk(CONFIG, { [CONFIG]: { mode: 0o664 } }),
    CONFIG,
    "is writable by group or others (owner uid 0, mode 664)",
  );
});

Deno.test("a certificate owned by a user is refused for root, accepted for that user only", async () => {
  const userCert = { [CERT]: { uid: 1000, mode: 0o644 } };
  assertUnsafe(await walk(CERT, userCert, 0), CERT, "is not owned by root (owner uid 1000, mode 644)");
  assertUnsafe(await walk(CERT, userCert, null), CERT, "is not owned by root (owner uid 1000, mode 644)");
  assertUnsafe(
    await walk(CERT, userCert, 1001),
    CERT,
    "is owned neither by root nor by uid 1001 (owner uid 1000, mode 644)",
  );
  assert.equal((await walk(CERT, userCert, 1000)).state, "ok");
});

Deno.test("a 777 directory or a group-writable one anywhere above is refused", async () => {
  const open = await walk(CONFIG, { "/etc/netauth": { mode: 0o777, dir: true } });
  assertUnsafe(open, "/etc/netauth", "is writable by group or others (owner uid 0, mode 777)");
  assert.equal(open.state === "unsafe" && open.above, true);
  assertUnsafe(
    await walk(CERT, { "/etc": { mode: 0o775, dir: true } }),
    "/etc",
    "is writable by group or others (owner uid 0, mode 775)",
  );
  assertUnsafe(
    await walk(CERT, { "/etc/netauth": { uid: 1000, mode: 0o755, dir: true } }),
    "/etc/netauth",
    "is not owned by root (owner uid 1000, mode 755)",
  );
});

Deno.test("where the sandbox refuses lstat the walk stops quietly; with full read it sees all", async () => {
  const openEtc = { "/etc": { mode: 0o777, dir: true } };
  assert.equal((await walk(CONFIG, openEtc, 0, ["/etc", "/"])).state, "ok");
  assert.equal((await walk(CONFIG, openEtc, 0)).state, "unsafe");
  assert.deepEqual(await walk(CONFIG, {}, 0, [CONFIG]), { state: "outside" });
  assert.deepEqual(await walk("/etc/netauth/none.toml", {}), { state: "missing" });
});

Deno.test("a sticky directory like /tmp passes above a directory of ours, never right above a file", async () => {
  const tmp = { "/tmp": { mode: 0o1777, dir: true } };
  const ours = { ...tmp, "/tmp/conf": { mode: 0o700, dir: true }, "/tmp/conf/config.toml": { mode: 0o644 } };
  assert.equal((await walk("/tmp/conf/config.toml", ours)).state, "ok");
  // Someone else made /tmp/conf first: theirs, so refused.
  assertUnsafe(
    await walk("/tmp/conf/config.toml", { ...ours, "/tmp/conf": { uid: 1000, mode: 0o755, dir: true } }),
    "/tmp/conf",
    "is not owned by root (owner uid 1000, mode 755)",
  );
  // A file straight in /tmp could be another user's hard link.
  assertUnsafe(
    await walk("/tmp/config.toml", { ...tmp, "/tmp/config.toml": { mode: 0o644 } }),
    "/tmp",
    "is writable by group or others (owner uid 0, mode 1777)",
  );
  // Without the sticky bit others could rename our directory away.
  assertUnsafe(
    await walk("/tmp/conf/config.toml", { ...ours, "/tmp": { mode: 0o777, dir: true } }),
    "/tmp",
    "is writable by group or others (owner uid 0, mode 777)",
  );
  // Sticky, but its owner may rename anything in it.
  assertUnsafe(
    await walk("/tmp/conf/config.toml", { ...ours, "/tmp": { uid: 1000, mode: 0o1777, dir: true } }),
    "/tmp",
    "is not owned by root (owner uid 1000, mode 1777)",
  );
});

Deno.test("symbolic links: the link must be root's, and its target passes in its place", async () => {
  const pki = {
    "/srv": { mode: 0o755, dir: true },
    "/srv/pki": { mode: 0o755, dir: true },
    "/srv/pki/ca.pem": { mode: 0o644 },
    [CERT]: { mode: 0o777, link: "/srv/pki/ca.pem" },
  };
  const ok = await walk(CERT, pki);
  assert.equal(ok.state, "ok");
  if (ok.state === "ok") assert.ok(ok.checked.some((c) => c.path === "/srv/pki/ca.pem"));
  assert.equal((await walk(CERT, { ...pki, [CERT]: { mode: 0o777, link: "../../../srv/pki/ca.pem" } })).state, "ok");
  assertUnsafe(
    await walk(CERT, { ...pki, [CERT]: { uid: 1000, mode: 0o777, link: "/srv/pki/ca.pem" } }),
    CERT,
    "is not owned by root (owner uid 1000, mode 777)",
  );
  assertUnsafe(
    await walk(CERT, { ...pki, "/srv/pki/ca.pem": { uid: 1000, mode: 0o644 } }),
    "/srv/pki/ca.pem",
    "is not owned by root (owner uid 1000, mode 644)",
  );
  assertUnsafe(
    await walk(CERT, { ...pki, "/srv": { mode: 0o777, dir: true } }),
    "/srv",
    "is writable by group or others (owner uid 0, mode 777)",
  );
  // Inside the sandbox the target's own lstat is refused: it is judged through the link.
  const hidden = ["/srv/pki/ca.pem", "/srv/pki", "/srv", "/etc", "/"];
  assert.equal((await walk(CERT, pki, 0, hidden)).state, "ok");
  assertUnsafe(
    await walk(CERT, { ...pki, "/srv/pki/ca.pem": { mode: 0o666 } }, 0, hidden),
    "/srv/pki/ca.pem",
    "is writable by group or others (owner uid 0, mode 666)",
  );
  // A loop ends, refused.
  const loop = await walk(CERT, { [CERT]: { mode: 0o777, link: "tls.pem" } });
  assert.equal(loop.state === "unsafe" && /too many symbolic links/.test(loop.reason), true);
  assert.deepEqual(await walk(CERT, { [CERT]: { mode: 0o777, link: "/nowhere.pem" } }), { state: "missing" });
});

Deno.test("--check's warning: the first component other users cannot get through", async () => {
  const check = async (nodes: Record<string, Node>) => {
    const result = await walk(CERT, nodes);
    return result.state === "ok" ? closedToOthers(result.checked) : result.state;
  };
  assert.equal(await check({}), undefined);
  assert.equal(await check({ [CERT]: { mode: 0o600 } }), `${CERT} is not readable by other users (mode 600)`);
  assert.equal(
    await check({ "/etc/netauth/keys": { mode: 0o750, dir: true } }),
    "/etc/netauth/keys is not searchable by other users (mode 750)",
  );
});

Deno.test("the refusal is one line: path, owner, mode and the rule", async () => {
  const fs = fakeFs({ ...ETC_NETAUTH, [CONFIG]: { mode: 0o666 } });
  assert.equal(
    await trustProblem(CONFIG, fs, 0),
    `unsafe permissions: ${CONFIG} is writable by group or others (owner uid 0, mode 666): ` +
      "what the helper trusts, and every directory above it, must be owned by root and writable by no one else",
  );
  assert.equal(await trustProblem(CERT, fs, 0), undefined);
});
