// NetAuth users served through NSS as a site serves them: libnss-cache files (/etc/passwd.cache, /etc/group.cache,
// what nsscache writes) and `cache` on nsswitch.conf's passwd and group lines. Only commands started through
// `prefix` see them: a private mount namespace lays an overlay on /etc (and /run), so the host's own /etc,
// its sshd and concurrent test runs never see a change, and a killed test leaves nothing mounted behind.
import assert from "node:assert/strict";
import { sh } from "./pam.ts";

export interface NssUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
  /** The passwd password field: `*` (see pam.d/README.md on why not `x` without a shadow source). */
  password?: string;
}

export interface PrivateEtc {
  /** Runs a command inside the private view: `[...prefix, cmd, ...args]`. */
  prefix: string[];
  /** Writes a file that commands in the private view see at /etc/`path`. */
  writeEtc(path: string, text: string): Promise<void>;
}

/** Why NSS cache files cannot be served privately here, or undefined. */
export async function missingNssCache(): Promise<string | undefined> {
  const lib = await sh("sh", ["-c", "ldconfig -p | grep -q 'libnss_cache.so.2 '"]);
  if (lib.code !== 0) return "libnss_cache.so.2 not installed (apt-get install libnss-cache)";
  const overlay = await Deno.readTextFile("/proc/filesystems").catch(() => "");
  if (!/\toverlay$/m.test(overlay)) return "the kernel has no overlay filesystem";
  const ns = await sh("unshare", ["--mount", "true"]);
  if (ns.code !== 0) return `cannot make a private mount namespace (unshare --mount): ${ns.output.trim()}`;
  return undefined;
}

/** A uid/gid base with `count` numbers that neither the host's passwd nor its group database knows. */
export async function freeIds(count: number): Promise<number> {
  for (let base = 72000 + (Deno.pid % 1000) * 10; base < 4_000_000; base += 7919) {
    const ids = Array.from({ length: count }, (_, i) => String(base + i));
    const users = await sh("getent", ["passwd", ...ids]);
    const groups = await sh("getent", ["group", ...ids]);
    if (users.output === "" && groups.output === "") return base;
  }
  throw new Error("no free uid range");
}

/** What else the private view holds: local accounts in its own /etc/passwd and /etc/shadow, a syslog socket. */
export interface PrivateEtcOptions {
  /**
   * Passwords (in clear; hashed here) written into the private /etc/shadow, replacing a host entry of the same
   * name (root's, say) or added.
   */
  shadow?: Record<string, string>;
  /** Local accounts to add to the private /etc/passwd (name -> uid, also the gid); their passwords in `shadow`. */
  localUids?: Record<string, number>;
  /** A unix datagram socket the private /dev/log points to, so syslog(3) (pam_unix, pam_exec) reaches a test. */
  devLog?: string;
}

/**
 * The private view: `users` in /etc/passwd.cache, one group per gid in /etc/group.cache, an empty /run/sshd
 * (sshd's fixed privilege separation directory), and what `options` add. Files go to overlays' upper layers under
 * `parent`/private-etc, which goes with `parent`.
 */
export async function privateEtc(
  parent: string,
  users: NssUser[],
  options: PrivateEtcOptions = {},
): Promise<PrivateEtc> {
  const dir = `${parent}/private-etc`;
  const etc = `${dir}/etc-upper`, run = `${dir}/run-upper`;
  for (const d of [dir, etc, run, `${dir}/etc-work`, `${dir}/run-work`, `${run}/sshd`]) await Deno.mkdir(d);
  await Deno.chmod(`${run}/sshd`, 0o755);
  const writeEtc = async (path: string, text: string) => {
    await Deno.mkdir(`${etc}/${path}`.replace(/\/[^/]+$/, ""), { recursive: true });
    await Deno.writeTextFile(`${etc}/${path}`, text, { mode: 0o644 });
  };
  const nsswitch = await Deno.readTextFile("/etc/nsswitch.conf");
  const withCache = nsswitch.replace(/^(passwd|group):(\s+)files\b/gm, "$1:$2files cache");
  assert.notEqual(withCache, nsswitch, "/etc/nsswitch.conf has no `passwd: files` line to add `cache` to");
  await writeEtc("nsswitch.conf", withCache);
  const line = (u: NssUser) => `${u.name}:${u.password ?? "*"}:${u.uid}:${u.gid}:NetAuth ${u.name}:${u.home}:/bin/sh`;
  await writeEtc("passwd.cache", users.map(line).join("\n") + "\n");
  const gids = [...new Set(users.map((u) => u.gid))];
  await writeEtc("group.cache", gids.map((gid) => `netauth${gid}:*:${gid}:`).join("\n") + "\n");
  if (options.shadow) {
    await writeAccounts(writeEtc, options.shadow, options.localUids ?? {});
    await Deno.chmod(`${etc}/shadow`, 0o600);
  }
  const overlay = (lower: string, upper: string, work: string) =>
    `mount -t overlay netauth-e2e -o lowerdir=${lower},upperdir=${upper},workdir=${work} ${lower}`;
  const script = [overlay("/etc", etc, `${dir}/etc-work`), overlay("/run", run, `${dir}/run-work`)];
  if (options.devLog) {
    // /dev/log exists only in this view (the host's /dev is left alone): an overlay whose upper layer holds it.
    for (const d of ["dev-upper", "dev-work"]) await Deno.mkdir(`${dir}/${d}`);
    await Deno.symlink(options.devLog, `${dir}/dev-upper/log`);
    script.push(overlay("/dev", `${dir}/dev-upper`, `${dir}/dev-work`));
  }
  script.push('exec "$@"');
  return {
    // unshare --mount makes every mount private: nothing propagates back to the host.
    prefix: ["unshare", "--mount", "--propagation", "private", "--", "sh", "-ec", script.join("\n"), "private-etc"],
    writeEtc,
  };
}

/** The private /etc/passwd and /etc/shadow: the host's, with `passwords` hashed in (SHA-512 crypt, as chpasswd). */
async function writeAccounts(
  writeEtc: (path: string, text: string) => Promise<void>,
  passwords: Record<string, string>,
  uids: Record<string, number>,
): Promise<void> {
  const lines = (text: string) => text.split("\n").filter((line) => line !== "");
  const passwd = lines(await Deno.readTextFile("/etc/passwd"));
  const shadow = lines(await Deno.readTextFile("/etc/shadow"));
  for (const [name, password] of Object.entries(passwords)) {
    const openssl = new Deno.Command("openssl", { args: ["passwd", "-6", "-stdin"], stdin: "piped", stdout: "piped" })
      .spawn();
    const w = openssl.stdin.getWriter();
    await w.write(new TextEncoder().encode(`${password}\n`));
    await w.close();
    const hash = new TextDecoder().decode((await openssl.output()).stdout).trim();
    assert.match(hash, /^\$6\$/, "openssl passwd -6 failed");
    const uid = uids[name];
    if (uid !== undefined) {
      assert.ok(!passwd.some((line) => line.startsWith(`${name}:`)), `${name} is a host account already`);
      passwd.push(`${name}:x:${uid}:${uid}:local ${name}:/nonexistent:/bin/sh`);
    }
    const entry = `${name}:${hash}:19000:0:99999:7:::`;
    const at = shadow.findIndex((line) => line.startsWith(`${name}:`));
    if (at >= 0) shadow[at] = entry;
    else shadow.push(entry);
  }
  await writeEtc("passwd", passwd.join("\n") + "\n");
  await writeEtc("shadow", shadow.join("\n") + "\n");
}
