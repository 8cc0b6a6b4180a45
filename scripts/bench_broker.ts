// The bench's broker parts (scripts/bench.ts): start an installed broker the way its unit does, drive
// it straight over its socket with the helper's own protocol, and read its resident set size.
import { decodeFrame, encodeRequest, readFrame, writeAll } from "../src/broker/protocol.ts";

export interface RunningBroker {
  pid: number;
  stop(): Promise<void>;
}

/**
 * `LAUNCHER --serve` as root, at the unit's `Nice=-10` (PID 1 here need not be systemd); resolves once
 * its socket answers.
 */
export async function startInstalledBroker(launcher: string, socket: string): Promise<RunningBroker> {
  const child = new Deno.Command("/usr/bin/nice", {
    args: ["-n", "-10", launcher, "--serve"],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  for (let tries = 0;; tries++) {
    const conn = await Deno.connect({ transport: "unix", path: socket }).catch(() => undefined);
    if (conn) {
      conn.close();
      break;
    }
    if (tries > 600) throw new Error(`the broker did not listen on ${socket}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    pid: child.pid,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}

/** The process's resident set size now, in KiB (VmRSS). */
export function rssKiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? NaN);
}

/** `count` auth requests straight over the socket, `parallel` at a time; throws on any unexpected answer. */
export async function driveBroker(
  socket: string,
  login: { user: string; secret: string; expectExit: number },
  count: number,
  parallel = 16,
): Promise<void> {
  let next = 0;
  const one = async () => {
    const conn = await Deno.connect({ transport: "unix", path: socket });
    try {
      const read = (into: Uint8Array) => conn.read(into);
      await readFrame(read); // the greeting
      const frame = encodeRequest({
        type: "auth",
        remainingMs: 10_000,
        user: login.user,
        service: "bench",
        rhost: "",
        ruser: "",
        tty: "",
        requireGroups: [],
        secret: new TextEncoder().encode(login.secret),
      });
      await writeAll((bytes) => conn.write(bytes), frame);
      const body = await readFrame(read);
      const reply = body && decodeFrame(body);
      if (reply?.kind !== "reply" || reply.reply.exit !== login.expectExit) {
        throw new Error(`broker answered ${JSON.stringify(reply)}`);
      }
    } finally {
      conn.close();
    }
  };
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next++ < count) await one();
  }));
}
