import assert from "node:assert/strict";
import {
  closedToOthers,
  type Fs,
  normalizePath,
  trustProblem,
  walkModes,
  type WalkOptions,
  type WalkResult,
} from "../src/file_modes.ts";

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
  // As the kernel: links on the way are followed, the last component is not.
  const lstat = async (raw: string): Promise<Deno.FileInfo> => {
    if (hidden.includes(normalize(raw))) throw new Deno.errors.NotCapable(raw);
    const path = raw === "/"
      ? "/"
      : normalize(`${await realPath(raw.replace(/\/[^/]*\/*$/, "") || "/")}/${raw.replace(/.*\//, "")}`);
    const node = all[path];
    if (!node) throw new Deno.errors.NotFound(path);
    const type = node.link !== undefined ? 0o120000 : node.dir ? 0o040000 : 0o100000;
    return ({
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
  // The kernel's resolution, component by component; like the sandbox, it asks only about the path given.
  const realPath = (path: string): Promise<string> => {
    let real = "/";
    const queue = normalize(path).split("/").filter(Boolean);
    for (let hops = 0; queue.length > 0;) {
      const next = normalize(`${real}/${queue.shift()}`);
      const node = all[next];
      if (!node) return Promise.reject(new Deno.errors.NotFound(next));
      if (node.link === undefined) real = next;
      else if (++hops > 40) return Promise.reject(new Error("ELOOP"));
      else {
        if (node.link.startsWith("/")) real = "/";
        queue.unshift(...node.link.split("/").filter(Boolean));
      }
    }
    return Promise.resolve(real);
  };
  return {
    lstat,
    realPath,
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
    "is a symbolic link and is not owned by root (owner uid 1000, mode 777)",
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

// Issue 16: a path is walked as the kernel walks it, as written, not after realPath.
const TMP = { "/tmp": { mode: 0o1777, dir: true } };
const REAL_PREFIX = { ...TMP, "/tmp/realprefix": { mode: 0o755, dir: true } };
const walkAs = (path: string, nodes: Record<string, Node>, options: Partial<WalkOptions> = {}, hidden: string[] = []) =>
  walkModes(path, { uid: null, fs: fakeFs(nodes, hidden), ...options });

Deno.test("a user's symbolic link on the way is refused, named with its owner, wherever it sits", async () => {
  const evil = { ...REAL_PREFIX, "/tmp/evil-prefix": { uid: 1000, mode: 0o777, link: "/tmp/realprefix" } };
  const refused = "is a symbolic link and is not owned by root (owner uid 1000, mode 777)";
  assertUnsafe(await walkAs("/tmp/evil-prefix", evil), "/tmp/evil-prefix", refused);
  // Below the link (PREFIX/sbin, a cache inside it): still the link, found above.
  const below = { ...evil, "/tmp/realprefix/sbin": { mode: 0o755, dir: true } };
  assertUnsafe(await walkAs("/tmp/evil-prefix/sbin", below), "/tmp/evil-prefix", refused);
  // Dangling (the user points it anywhere later): refused the same, no exception.
  const dangling = { ...TMP, "/tmp/evil-prefix": { uid: 1000, mode: 0o777, link: "/tmp/nowhere" } };
  assertUnsafe(await walkAs("/tmp/evil-prefix", dangling, { absentOk: true }), "/tmp/evil-prefix", refused);
  // The same spelled with "//" and "/./".
  assertUnsafe(await walkAs("/tmp//./evil-prefix/", evil), "/tmp/evil-prefix", refused);
});

Deno.test("root's link is followed only where only root can replace it: not in sticky /tmp", async () => {
  const inTmp = { ...REAL_PREFIX, "/tmp/prefix": { mode: 0o777, link: "realprefix" } };
  assertUnsafe(await walkAs("/tmp/prefix", inTmp), "/tmp", "is writable by group or others (owner uid 0, mode 1777)");
  const inOpt = {
    ...REAL_PREFIX,
    "/opt": { mode: 0o755, dir: true },
    "/opt/prefix": { mode: 0o777, link: "../tmp/realprefix" },
  };
  // In a root-only directory the link passes, and its target is walked in its place (here /tmp's realprefix).
  const ok = await walkAs("/opt/prefix", inOpt);
  assert.equal(ok.state, "ok", JSON.stringify(ok));
  if (ok.state === "ok") {
    assert.deepEqual(ok.checked.map((c) => c.path), ["/tmp/realprefix", "/tmp", "/", "/opt", "/"]);
  }
  assertUnsafe(
    await walkAs("/opt/prefix", { ...inOpt, "/tmp/realprefix": { uid: 1000, mode: 0o755, dir: true } }),
    "/tmp/realprefix",
    "is not owned by root (owner uid 1000, mode 755)",
  );
});

Deno.test("a path install.sh will create: what exists on the way is walked, what is missing skipped", async () => {
  const opt = { "/opt": { mode: 0o755, dir: true } };
  assert.equal((await walkAs("/opt/new/prefix", opt, { absentOk: true })).state, "ok");
  assert.deepEqual(await walkAs("/opt/new/prefix", opt), { state: "missing" });
  assertUnsafe(
    await walkAs("/opt/new/prefix", { "/opt": { uid: 1000, mode: 0o755, dir: true } }, { absentOk: true }),
    "/opt",
    "is not owned by root (owner uid 1000, mode 755)",
  );
  // Root's dangling link in a root-only directory: its target's parent decides.
  const rootLink = { ...opt, "/opt/prefix": { mode: 0o777, link: "/srv/gone" }, "/srv": { mode: 0o777, dir: true } };
  assertUnsafe(
    await walkAs("/opt/prefix", rootLink, { absentOk: true }),
    "/srv",
    "is writable by group or others (owner uid 0, mode 777)",
  );
});

Deno.test("inside the sandbox a link above the granted path, whose owner cannot be seen, is refused", async () => {
  const nodes = {
    ...TMP,
    "/tmp/rroot": { mode: 0o755, dir: true },
    "/tmp/rroot/cache": { mode: 0o700, dir: true },
    "/tmp/ulink": { uid: 1000, mode: 0o777, link: "/tmp/rroot" },
  };
  const hidden = ["/tmp/ulink", "/tmp", "/"];
  assertUnsafe(
    await walkAs("/tmp/ulink/cache", nodes, {}, hidden),
    "/tmp/ulink/cache",
    "is reached through a symbolic link (its real path is /tmp/rroot/cache), which the sandbox cannot inspect",
  );
  // With full read the link itself is named.
  assertUnsafe(
    await walkAs("/tmp/ulink/cache", nodes),
    "/tmp/ulink",
    "is a symbolic link and is not owned by root (owner uid 1000, mode 777)",
  );
  assert.equal((await walkAs("/tmp/rroot/cache", nodes, {}, ["/tmp/rroot", "/tmp", "/"])).state, "ok");
});

Deno.test("any error on the way is one reason, never an exception", async () => {
  const fs = fakeFs({});
  const broken: Fs = { ...fs, lstat: () => Promise.reject(new Deno.errors.PermissionDenied("no")) };
  assertUnsafe(await walkModes("/etc/x", { uid: null, fs: broken }), "/etc/x", "cannot be checked (PermissionDenied)");
  assertUnsafe(await walkModes("etc/x", { uid: null, fs }), "etc/x", "is not an absolute path");
  assert.deepEqual(["/a//b/./c/", "/.", "/./a/.", "/a/.b/..", "/"].map(normalizePath), [
    "/a/b/c",
    "/",
    "/a",
    "/a/.b/..",
    "/",
  ]);
});
