// N logins started at once, as sshd, su or a config-management run produce them: every process is forked first
// and waits on one FIFO; opening it for writing releases them all together. No parent awaits one before starting
// the next, so nothing staggers the arrivals. Each runs under GNU time (wall and peak RSS) with the password on
// its stdin from a 0600 file, the PAM variables in a cleared environment, as pam_exec runs the helper.

/** One login of a burst, as GNU time and its exit status saw it. */
export interface BurstLogin {
  /** Wall ms from the release to its exit (GNU time's %e, 10 ms resolution). */
  ms: number;
  /** Peak RSS in KiB (GNU time's %M). */
  kib: number;
  /** The login's exit status. */
  exit: number;
}

/** What a burst gives back: its total wall time and every login. */
export interface Burst {
  /** From the release until the last login exited. */
  wallMs: number;
  logins: BurstLogin[];
  /** The one login started during the burst (`spec.during`), when asked for. */
  during?: BurstLogin;
}

/** What to start `size` times at once. */
export interface BurstSpec {
  /** The command a login runs (the launcher and its arguments). */
  argv: string[];
  /** The PAM environment. */
  env: Record<string, string>;
  /** The password each login reads on stdin (a test fixture). */
  stdin: string;
  /** How many logins. */
  size: number;
  /** One more login, started `delayMs` after the release (a user arriving in the middle of a storm). */
  during?: { stdin: string; delayMs: number };
}

// $1 fifo, $2 count, $3 password file, $4 output dir, $5 the late login's delay (s; empty: none), then the command. Each child blocks opening the FIFO until
// the parent opens it for writing; the parent's close gives every reader end-of-file at the same moment.
const DRIVER = `
fifo=$1 n=$2 pw=$3 out=$4 late=$5; shift 5
i=0
while [ "$i" -lt "$n" ]; do
  ( read -r _ <"$fifo"; exec /usr/bin/time -f '%e %M' "$@" <"$pw" >/dev/null 2>"$out/$i" ) &
  i=$((i + 1))
done
sleep 1 # every child forked and blocked on the FIFO before the release
printf 'go %s\\n' "$(date +%s%N)" >&2
: >"$fifo"
if [ -n "$late" ]; then
  sleep "$late"
  /usr/bin/time -f '%e %M' "$@" <"$pw.during" >/dev/null 2>"$out/during" &
fi
wait
`;

/** Starts `spec.size` logins at once and waits for all of them. */
export async function startedAtOnce(spec: BurstSpec): Promise<Burst> {
  const dir = await Deno.makeTempDir({ prefix: "netauth-burst-" });
  try {
    const fifo = `${dir}/go`, pw = `${dir}/pw`, out = `${dir}/out`;
    await new Deno.Command("mkfifo", { args: [fifo] }).output();
    await Deno.writeTextFile(pw, spec.stdin, { mode: 0o600 });
    await Deno.mkdir(out);
    if (spec.during) await Deno.writeTextFile(`${pw}.during`, spec.during.stdin, { mode: 0o600 });
    const late = spec.during ? (spec.during.delayMs / 1000).toFixed(3) : "";
    const res = await new Deno.Command("/bin/sh", {
      args: ["-c", DRIVER, "burst", fifo, String(spec.size), pw, out, late, ...spec.argv],
      clearEnv: true,
      env: spec.env,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output();
    const ended = BigInt(Date.now()) * 1_000_000n;
    const go = /go (\d+)/.exec(new TextDecoder().decode(res.stderr))?.[1];
    if (!go) throw new Error(`the burst driver did not start: ${new TextDecoder().decode(res.stderr)}`);
    const read = async (name: string): Promise<BurstLogin> => {
      const lines = (await Deno.readTextFile(`${out}/${name}`)).trim().split("\n");
      const [secs, kib] = lines.at(-1)!.split(" ").map(Number);
      const failed = lines.map((l) => /^Command exited with non-zero status (\d+)$/.exec(l)?.[1]).find(Boolean);
      return { ms: secs * 1000, kib, exit: failed ? Number(failed) : 0 };
    };
    const logins = await Promise.all(Array.from({ length: spec.size }, (_, i) => read(String(i))));
    const during = spec.during ? await read("during") : undefined;
    return { wallMs: Number((ended - BigInt(go)) / 1_000_000n), logins, during };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The `p`th percentile (0-100) of `xs`, nearest rank. */
export function percentile(xs: number[], p: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
