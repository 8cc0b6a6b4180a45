// A private mount namespace in which /etc, /usr, /var and /run are overlays on a tmpfs: a package installed there
// runs its scriptlets for real, while the host's files, package databases and /etc/pam.d never change, and a killed
// test leaves nothing behind.
import assert from "node:assert/strict";

const decoder = new TextDecoder();
const PATH = "/usr/sbin:/usr/bin:/sbin:/bin";

/** A private root: `run` executes in it (environment cleared), `prefix` runs any command there, `stop` ends it. */
export interface PrivateRoot {
  prefix: string[];
  run: (cmd: string, ...args: string[]) => Promise<{ code: number; output: string }>;
  stop: () => Promise<void>;
}

/** Opens a private root whose layers live in `dir` (a fresh directory), held open by a sleeping process. */
export async function privateRoot(dir: string, label: string): Promise<PrivateRoot> {
  const layers = `${dir}/layers`;
  await Deno.mkdir(layers);
  const script = [
    `mount -t tmpfs ${label} ${layers}`,
    ...["etc", "usr", "var", "run"].map((d) =>
      `mkdir ${layers}/${d}-upper ${layers}/${d}-work && mount -t overlay ${label} ` +
      `-o lowerdir=/${d},upperdir=${layers}/${d}-upper,workdir=${layers}/${d}-work /${d}`
    ),
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
    run: async (cmd: string, ...args: string[]) => {
      const out = await new Deno.Command(prefix[0], { args: [...prefix.slice(1), cmd, ...args], stdin: "null" })
        .output();
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
