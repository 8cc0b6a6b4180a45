import assert from "node:assert/strict";
import { brokerSocketFor, socketProblem } from "../../src/broker/socket.ts";

const SOCKET = "/l/runtime/broker/socket";
type Info = Partial<Deno.FileInfo>;

/** An lstat over a table of paths; a missing path is NotFound, an Error value is thrown. */
function lstatOf(table: Record<string, Info | Error>) {
  return (path: string) => {
    const entry = table[path];
    if (entry instanceof Error) return Promise.reject(entry);
    if (!entry) return Promise.reject(new Deno.errors.NotFound(path));
    return Promise.resolve(
      { isFile: false, isDirectory: false, isSymlink: false, isSocket: false, ...entry } as Deno.FileInfo,
    );
  };
}
const dir: Info = { isDirectory: true, uid: 0, mode: 0o40700 };
const sock: Info = { isSocket: true, uid: 0, mode: 0o140600 };

Deno.test("the socket lives below the runtime directory", () => {
  assert.equal(
    brokerSocketFor("/usr/local/lib/netauth-pam-helper/runtime"),
    `/usr/local/lib/netauth-pam-helper/runtime/broker/socket`,
  );
});

Deno.test("a root socket in root's 0700 directory is trusted", async () => {
  assert.equal(await socketProblem(SOCKET, lstatOf({ "/l/runtime/broker": dir, [SOCKET]: sock })), undefined);
});

Deno.test("anything root did not put there is untrusted: a warning, then the direct path", async () => {
  const cases: [string, Record<string, Info | Error>, RegExp][] = [
    ["group-readable directory", { "/l/runtime/broker": { ...dir, mode: 0o40750 } }, /has mode 750, not 700/],
    ["directory of another user", { "/l/runtime/broker": { ...dir, uid: 1000 } }, /owned by uid 1000, not root/],
    ["directory is a link", { "/l/runtime/broker": { isSymlink: true, uid: 0 } }, /is not a directory/],
    ["socket of another user", { "/l/runtime/broker": dir, [SOCKET]: { ...sock, uid: 1000 } }, /uid 1000, not root/],
    ["socket is a link", { "/l/runtime/broker": dir, [SOCKET]: { isSymlink: true, uid: 0 } }, /symbolic link/],
    ["a plain file", { "/l/runtime/broker": dir, [SOCKET]: { isFile: true, uid: 0 } }, /is not a socket/],
  ];
  for (const [name, table, why] of cases) {
    const problem = await socketProblem(SOCKET, lstatOf(table));
    assert.equal(problem?.untrusted, true, name);
    assert.match(problem!.why, why, name);
  }
});

Deno.test("no broker, or one out of reach (an unprivileged caller), is no warning", async () => {
  const missing = await socketProblem(SOCKET, lstatOf({ "/l/runtime/broker": dir }));
  assert.deepEqual(missing, { why: `${SOCKET} does not exist`, untrusted: false, absent: true });
  const noDir = await socketProblem(SOCKET, lstatOf({}));
  assert.deepEqual(noDir, { why: "/l/runtime/broker does not exist", untrusted: false, absent: true });
  const locked = await socketProblem(
    SOCKET,
    lstatOf({ "/l/runtime/broker": dir, [SOCKET]: new Deno.errors.PermissionDenied("EACCES") }),
  );
  assert.deepEqual(locked, { why: `${SOCKET} not reachable (permission denied: not root)`, untrusted: false });
});
