// A private mount namespace in which /etc, /usr, /var and /run are overlays on a tmpfs, npm's directory (and so
// deno) hidden: a package installed there runs its maintainer scripts or scriptlets for real, while the host's files,
// package databases and /etc/pam.d never change, and a killed test leaves nothing behind. The .deb's and the .rpm's
// tests share it.
import assert from "node:assert/strict";

const decoder = new TextDecoder();
const PATH = "/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * A private mount namespace held open by a sleeping process; commands run in it through nsenter. `more`: shell
 * lines run in it last, before it is ready (a layout to test, such as Ubuntu's /var/log).
 */
export async function privateRoot(dir: string, more: string[] = []) {
  const layers = `${dir}/layers`;
  await Deno.mkdir(layers);
  const script = [
    `mount -t tmpfs netauth-private-root ${layers}`,
    // The host's /etc as it is below the overlay: what the private root changed is the upper layer's difference.
    `mkdir ${layers}/etc-lower && mount --bind /etc ${layers}/etc-lower`,
    ...["etc", "usr", "var", "run"].map((d) =>
      `mkdir ${layers}/${d}-upper ${layers}/${d}-work && mount -t overlay netauth-private-root ` +
      `-o lowerdir=/${d},upperdir=${layers}/${d}-upper,workdir=${layers}/${d}-work /${d}`
    ),
    // deno through npm: /usr/bin/deno becomes a dangling link, so nothing can fall back on it.
    "mount -t tmpfs netauth-private-root-hide /usr/lib/node_modules",
    "mkdir -p /run/sshd && chmod 0755 /run/sshd",
    ...more,
    "echo ready",
    "exec sleep 3600",
  ];
  const holder = new Deno.Command("unshare", {
    args: ["--mount", "--propagation", "private", "--", "sh", "-ec", script.join("\n")],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = holder.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const first = await reader.read();
  assert.equal(first.value?.trim(), "ready", "the private root did not come up");
  reader.releaseLock();
  const prefix = ["nsenter", "--mount", `--target=${holder.pid}`, "--", "env", "-i", `PATH=${PATH}`];
  return {
    prefix,
    /** Each file the private root changed in /etc/pam.d (its upper layer), with its hash: what it did to PAM. */
    pamChanges: `cd ${layers}/etc-upper/pam.d 2>/dev/null || exit 0; for f in $(ls -A); do ` +
      `if [ -c "$f" ]; then echo "removed $f"; elif ! cmp -s "$f" "${layers}/etc-lower/pam.d/$f"; then ` +
      `echo "$(sha256sum <"$f") $f"; fi; done`,
    /** Runs a command in the private root, environment cleared; output is stdout and stderr together. */
    run: async (cmd: string, ...args: string[]) => {
      const out = await new Deno.Command(prefix[0], {
        args: [...prefix.slice(1), "DEBIAN_FRONTEND=noninteractive", cmd, ...args],
        stdin: "null",
      }).output();
      return { code: out.code, output: decoder.decode(out.stdout) + decoder.decode(out.stderr) };
    },
    stop: async () => {
      try {
        holder.kill("SIGKILL");
      } catch { /* gone */ }
      await holder.status;
      await holder.stdout.cancel().catch(() => {});
    },
  };
}
