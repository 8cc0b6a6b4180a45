// A syslog socket for end-to-end tests: pam_unix and pam_exec log through syslog(3) to /dev/log, and no syslog
// daemon runs here. A child deno (Deno.listenDatagram needs --unstable-net, which the tests do not run with)
// receives each datagram on a unix socket that a private view's /dev/log points to (tests/e2e/nss_cache.ts).

export interface Syslog {
  /** Every message received so far, one a line, as syslog(3) sent it (`<PRI>DATE TAG: text`). */
  text(): string;
  /** The messages sent since the last call (or the start), once all sent before this call have arrived. */
  since(): Promise<string>;
  stop(): Promise<void>;
}

const LISTENER = `
const socket = Deno.listenDatagram({ transport: "unixpacket", path: Deno.args[0] });
const out = Deno.stdout.writable.getWriter();
for await (const [bytes] of socket) await out.write(new Uint8Array([...bytes, 10]));
`;

/** Listens on `path` (a new unix datagram socket, mode 0666 so any uid may log). Resolves once it is bound. */
export async function startSyslog(path: string): Promise<Syslog> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", "--unstable-net", LISTENER, path],
    clearEnv: true,
    env: { PATH: "/usr/bin:/bin", NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  let received = "";
  const pump = (async () => {
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) received += chunk;
  })();
  for (let i = 0; !(await Deno.lstat(path).then((s) => s.isSocket, () => false)); i++) {
    if (i > 200) throw new Error(`the syslog listener did not bind ${path}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await Deno.chmod(path, 0o666);
  let seen = 0, marks = 0;
  return {
    text: () => received,
    since: async () => {
      // Datagrams on one socket arrive in order: once our own marker is in, everything sent before it is too.
      const mark = `netauth-e2e-mark-${++marks}`;
      const logger = await new Deno.Command("logger", { args: ["-u", path, mark], stdin: "null" }).output();
      if (!logger.success) throw new Error(`logger -u ${path} failed`);
      for (let i = 0; !received.includes(mark); i++) {
        if (i > 200) throw new Error("the syslog listener stopped receiving");
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const end = received.indexOf(mark);
      const text = received.slice(seen, end).split("\n").filter((line) =>
        line !== "" && !line.includes("netauth-e2e-mark-")
      )
        .join("\n");
      seen = received.indexOf("\n", end) + 1;
      return text;
    },
    stop: async () => {
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
      await child.status;
      await pump;
    },
  };
}
