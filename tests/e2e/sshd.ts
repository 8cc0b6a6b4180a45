// A second OpenSSH sshd for end-to-end tests: loopback only, its own config, host key and PAM service, started
// through a command prefix (tests/e2e/nss_cache.ts's private /etc), and the ssh client that logs in to it.
import { sh } from "./pam.ts";

export const SSHD = "/usr/sbin/sshd";
const decoder = new TextDecoder();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Why no sshd/ssh/sshpass login can be tested here, or undefined. */
export async function missingOpenSsh(): Promise<string | undefined> {
  const sshd = await Deno.stat(SSHD).catch(() => undefined);
  if (!sshd?.isFile) return `${SSHD} not installed (apt-get install openssh-server)`;
  for (const [tool, pkg] of [["ssh", "openssh-client"], ["ssh-keygen", "openssh-client"], ["sshpass", "sshpass"]]) {
    if ((await sh("sh", ["-c", `command -v ${tool}`])).code !== 0) {
      return `${tool} not installed (apt-get install ${pkg})`;
    }
  }
  return undefined;
}

export interface Sshd {
  port: number;
  /** sshd's own log (`-e`: stderr) so far. */
  log(): string;
  stop(): Promise<void>;
}

/**
 * Starts sshd as `dir`/`service`, a symlink to /usr/sbin/sshd: OpenSSH names its PAM service after the name it
 * runs under, so the PAM stack is /etc/pam.d/`service`. Resolves once the port accepts connections (10 s at most).
 * `permitRootLogin`: root may log in (with a password too), for a private view whose root password a test set.
 */
export async function startSshd(
  dir: string,
  service: string,
  prefix: string[],
  permitRootLogin = false,
): Promise<Sshd> {
  const hostKey = `${dir}/ssh_host_ed25519_key`;
  const keygen = await sh("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "netauth-e2e", "-f", hostKey]);
  if (keygen.code !== 0) throw new Error(`ssh-keygen: ${keygen.output}`);
  const config = `${dir}/sshd_config`;
  await Deno.writeTextFile(
    config,
    [
      "ListenAddress 127.0.0.1",
      `HostKey ${hostKey}`,
      "PidFile none",
      "UsePAM yes",
      "KbdInteractiveAuthentication yes",
      "PasswordAuthentication yes",
      "PubkeyAuthentication yes",
      "AuthorizedKeysFile .ssh/authorized_keys",
      `PermitRootLogin ${permitRootLogin ? "yes" : "no"}`,
      "UseDNS no",
      "LogLevel VERBOSE",
      "",
    ].join("\n"),
  );
  const binary = `${dir}/${service}`;
  await Deno.symlink(SSHD, binary);
  for (let attempt = 1;; attempt++) {
    const port = freePort();
    // sshd re-executes itself by argv[0], so the symlink's absolute path; -D: stay in front, -e: log to stderr.
    const [cmd, ...args] = [...prefix, binary, "-D", "-e", "-f", config, "-p", String(port)];
    const child = new Deno.Command(cmd, { args, stdin: "null", stdout: "null", stderr: "piped" }).spawn();
    let logText = "";
    const pump = (async () => {
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) logText += chunk;
    })();
    let exited = false;
    child.status.then(() => exited = true);
    const stop = async () => {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      const killer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* gone */ }
      }, 5_000);
      await child.status;
      clearTimeout(killer);
      await pump;
    };
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && !exited) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port }).catch(() => undefined);
      if (conn) {
        conn.close();
        return { port, log: () => logText, stop };
      }
      await sleep(50);
    }
    await stop();
    if (attempt < 3 && /Bind to port .* failed|Cannot bind/.test(logText)) continue;
    throw new Error(`sshd on 127.0.0.1:${port} ${exited ? "exited" : "did not listen within 10 s"}:\n${logText}`);
  }
}

function freePort(): number {
  // Racy (someone may take it first): startSshd retries on a bind failure.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

export type Method = "password" | "keyboard-interactive" | "publickey";

/**
 * `ssh user@127.0.0.1 true` with one authentication method; a password goes through `sshpass -e` (SSHPASS in
 * sshpass's env only). Killed after 30 s. Exit 0: logged in and ran `true`; 255: ssh refused or failed.
 */
export async function sshLogin(
  port: number,
  user: string,
  method: Method,
  secret: { password?: string; key?: string },
) {
  const options = {
    StrictHostKeyChecking: "no",
    UserKnownHostsFile: "/dev/null",
    GlobalKnownHostsFile: "/dev/null",
    ConnectTimeout: "5",
    NumberOfPasswordPrompts: "1",
    PreferredAuthentications: method,
    PubkeyAuthentication: method === "publickey" ? "yes" : "no",
    BatchMode: method === "publickey" ? "yes" : "no",
    IdentitiesOnly: "yes",
    IdentityAgent: "none",
    LogLevel: "ERROR",
  };
  const identity = secret.key ? ["-i", secret.key] : [];
  const ssh = [
    "ssh",
    "-F",
    "/dev/null", // the host's and root's ssh_config stay out
    ...Object.entries(options).flatMap(([k, v]) => ["-o", `${k}=${v}`]),
    ...identity,
    "-p",
    String(port),
    `${user}@127.0.0.1`,
    "true",
  ];
  const [cmd, ...args] = method === "publickey" ? ssh : ["sshpass", "-e", ...ssh];
  const env = method === "publickey" ? undefined : { SSHPASS: secret.password ?? "" };
  const out = await new Deno.Command(cmd, {
    args,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(30_000),
  }).output();
  return { code: out.code, output: decoder.decode(out.stdout) + decoder.decode(out.stderr) };
}
