/**
 * `--check`: the admin's pre-flight. One line per stage, stopping at the first failure;
 * the exit code is the one a login would get for that failure.
 *
 * @module
 */
import { type Config } from "../config.ts";
import { readRootCertificate, trustedRoots } from "../certificate.ts";
import { Exit, type ExitCode } from "../exit_codes.ts";
import { describeIoError, HelperError } from "../errors.ts";
import type { OutageRecord } from "../outage/record.ts";
import { type NetAuthClient, NetAuthError } from "../netauth/client.ts";
import type { RuntimeDirState } from "../runtime_dir.ts";
import type { Greeting } from "../broker/forward.ts";
import { closeQuietly } from "../broker/socket.ts";
import { netPermission, notGrantedMessage } from "../sandbox.ts";
import { FactsError, type HostFacts } from "../host_facts.ts";
import { type Finding, hostFindings, listedLocally, netAuthFindings } from "./check_user.ts";

/** What `--check` needs from outside; tests pass fakes. */
export interface CheckDeps {
  /** Reads and checks the config file. */
  loadConfig: () => Promise<Config>;
  /** Whether the sandbox lets this process reach the configured server. */
  netGranted: (config: Config) => boolean;
  /** The NetAuth client for the config (loaded only once the local stages passed). */
  connect: (config: Config, rootCertificate: Uint8Array | undefined) => Promise<NetAuthClient>;
  /** Writes one line of the report to stdout. */
  print: (line: string) => void;
  /** Why other users cannot read a file (undefined when they can): a warning, not a failure. */
  hiddenFromOthers: (path: string) => Promise<string | undefined>;
  /** `--require-group` names: each must exist in NetAuth, or the PAM line denies everyone. */
  requireGroups?: string[];
  /** The offline cache directory, when enabled; a problem is a warning, not a failure. */
  cache?: { dir: string; problem: () => Promise<string | undefined> };
  /** The outage record (outage/record.ts), when the run has a place for it: printed, never changed. */
  outage?: { path: string; read: () => Promise<OutageRecord | undefined> };
  /** The runtime's own directories, when installed with a launcher: each must be root's alone. */
  runtime?: { dir: string; inspect: () => RuntimeDirState[] };
  /**
   * The warm broker's socket (--broker-socket) and its greeting (broker/forward.ts): no broker is reported, never a
   * failure; with `vouch` (an installed helper: broker/vouch.ts vouchForBroker), a broker that greets must say it
   * started from the installed, unchanged files, or it is a failure.
   */
  broker?: {
    socket: string;
    greet: (socket: string, budgetMs: number) => Promise<Greeting>;
    /** Why the broker on `conn` is not the installed helper (ending with what to do), or undefined. */
    vouch?: (conn: Deno.Conn) => Promise<string | undefined>;
  };
  /** `--user NAME [--service SERVICE]`: the host's facts (from the launcher, src/host_facts.ts) and NetAuth's. */
  user?: { name: string; service: string; facts: () => Promise<HostFacts> };
}

/**
 * `--check`: one `ok`/`FAIL`/`WARN` line per stage (config, certificate, sandbox, runtime directories, cache,
 * outage, broker, server, groups), stopping at the first failure; the exit code is the one a login would get for it
 * (a broker that cannot vouch for its code: 3, as for any install that is not what was installed).
 */
export async function runCheck(deps: CheckDeps): Promise<ExitCode> {
  // --user: the first finding's exit code wins, so the report's first FAIL is the exit status.
  let userExit: ExitCode = Exit.SUCCESS;
  const note = (finding: Finding) => {
    deps.print(finding.line);
    if (userExit === Exit.SUCCESS) userExit = finding.exit;
  };
  const local = deps.user ? await hostReport(deps.user, note) : false;
  const fail = (stage: string, err: unknown): ExitCode => {
    const exit = userExit !== Exit.SUCCESS
      ? userExit
      : err instanceof HelperError
      ? err.exit
      : err instanceof NetAuthError
      ? Exit.AUTHINFO_UNAVAIL
      : Exit.SYSTEM_ERR;
    deps.print(`${stage}: FAIL ${(err as Error).message}`);
    return exit;
  };

  let config: Config;
  try {
    config = await deps.loadConfig();
  } catch (err) {
    return fail("config", err);
  }
  const where = netPermission(config.server, config.port);
  deps.print(`config: ok ${config.file} (server ${where}, client ID ${config.clientId})`);
  await warnIfHidden(deps, "config", config.file);

  let root: Uint8Array | undefined;
  try {
    if (config.pwnMe) {
      deps.print("tls: ok but PLAINTEXT (tls.pwn_me = true): passwords cross the network unencrypted");
    } else {
      const roots = await trustedRoots(config, await readRootCertificate(config));
      root = roots.pem;
      const trusted = roots.trusted.map((c) => `${c.subject}, expires ${c.validTo.toISOString().slice(0, 10)}`);
      const ignored = roots.ignored.length > 0 ? `; not trusted: ${roots.ignored.join("; ")}` : "";
      deps.print(`tls: ok ${config.certificate} (${trusted.join("; ")}${ignored})`);
      await warnIfHidden(deps, "tls", config.certificate);
    }
  } catch (err) {
    return fail("tls", err);
  }

  if (!deps.netGranted(config)) {
    return fail("sandbox", new HelperError(Exit.SERVICE_ERR, "bad_config", notGrantedMessage(config)));
  }
  deps.print(`sandbox: ok may connect to ${where} only`);
  if (deps.runtime) {
    const bad = deps.runtime.inspect().find((dir) => dir.problem);
    if (bad) return fail("runtime", new HelperError(Exit.SERVICE_ERR, "bad_install", `${bad.path} ${bad.problem}`));
    deps.print(`runtime: ok ${deps.runtime.dir} (HOME, DENO_DIR, TMPDIR root-owned, writable by root only)`);
  }
  if (deps.cache) {
    const problem = await deps.cache.problem();
    deps.print(
      problem
        ? `cache: WARN ${deps.cache.dir} ${problem}: logins work, but not while NetAuth is down`
        : `cache: ok ${deps.cache.dir}`,
    );
  }

  if (deps.outage) deps.print(await outageLine(deps.outage));
  if (deps.broker) {
    const broker = await brokerLine(deps.broker);
    deps.print(broker.line);
    if (broker.failed) return Exit.SERVICE_ERR;
  }

  const started = performance.now();
  let client: NetAuthClient | undefined;
  let stage = "server";
  try {
    client = await deps.connect(config, root);
    await client.ping();
    const ms = Math.round(performance.now() - started);
    const health = await client.status().catch((err: NetAuthError) => ({ ok: undefined, firstFailure: err.message }));
    if (health.ok === false) {
      deps.print(
        `server: FAIL ${where} answered SystemPing in ${ms} ms but reports ${health.firstFailure ?? "a failure"}`,
      );
      return Exit.AUTHINFO_UNAVAIL;
    }
    const state = health.ok ? "status ok" : `status not readable (${health.firstFailure})`;
    deps.print(`server: ok ${where} answered SystemPing in ${ms} ms; ${state}`);
    stage = "groups";
    const groups = await checkGroups(client, deps.requireGroups ?? [], deps.print);
    if (groups !== Exit.SUCCESS || !deps.user) return userExit !== Exit.SUCCESS ? userExit : groups;
    stage = "entity";
    for (const finding of await netAuthFindings(client, deps.user.name, deps.requireGroups ?? [], local)) note(finding);
    return userExit;
  } catch (err) {
    return fail(stage, err);
  } finally {
    client?.close();
  }
}

/** The host's lines for `--user`; whether the name is a local account (so NetAuth never answers for it). */
async function hostReport(user: NonNullable<CheckDeps["user"]>, note: (finding: Finding) => void): Promise<boolean> {
  let facts: HostFacts;
  try {
    facts = await user.facts();
  } catch (err) {
    if (!(err instanceof FactsError)) throw err;
    note({
      line: `host: WARN ${err.message}: the installed netauth-pam-helper (its launcher) gathers the host's side; ` +
        "NetAuth's side follows",
      exit: Exit.SUCCESS,
    });
    return false;
  }
  if (facts.user !== user.name) {
    note({ line: `host: WARN the launcher looked up "${facts.user}", not ${user.name}: skipped`, exit: Exit.SUCCESS });
    return false;
  }
  for (const finding of hostFindings(facts, user.service)) note(finding);
  return facts.passwdFile !== undefined && listedLocally(facts.passwdFile, user.name);
}

/** `outage: none`, or since when NetAuth has been found unavailable and in which phase. */
async function outageLine(outage: NonNullable<CheckDeps["outage"]>): Promise<string> {
  try {
    const record = await outage.read();
    if (!record) return "outage: none";
    const iso = (ms: number) => new Date(ms).toISOString();
    return `outage: recorded since ${iso(record.since)} (last phase ${record.phase}, last full try ` +
      `${iso(record.fullTryAt)}; ${outage.path}): logins probe NetAuth briefly, then use the cache`;
  } catch (err) {
    return `outage: WARN ${outage.path} cannot be read (${describeIoError(err)}): every login makes the full try`;
  }
}

/** A login waits up to 1 s for the broker's greeting (a broker systemd starts on demand); --check as long. */
const CHECK_GREETING_MS = 1000;

/**
 * Whether logins will go through the broker: it is optional, so no answer is a WARN at most; a broker that answers
 * but cannot vouch for its code (not started from the installed, unchanged files) fails.
 */
async function brokerLine(broker: NonNullable<CheckDeps["broker"]>): Promise<{ line: string; failed?: boolean }> {
  const greeted = await broker.greet(broker.socket, CHECK_GREETING_MS);
  if ("conn" in greeted) {
    try {
      const problem = await broker.vouch?.(greeted.conn);
      if (problem) {
        return { line: `broker: FAIL ${broker.socket} greeted, but ${problem}`, failed: true };
      }
    } finally {
      closeQuietly(greeted.conn);
    }
    const vouched = broker.vouch ? ", started from the installed files" : "";
    return { line: `broker: ok ${broker.socket} greeted in ${greeted.ms} ms${vouched}: logins go through the broker` };
  }
  // No broker running, or a caller that is not root: expected. Anything else is worth a look.
  const expected = !greeted.untrusted && /(does not exist|not root\))$/.test(greeted.why);
  const level = expected ? "" : "WARN ";
  return { line: `broker: ${level}${greeted.why}: logins go direct` };
}

/** Screen lockers run the helper as the locked-out user, who must be able to read both files. */
async function warnIfHidden(deps: CheckDeps, stage: string, path: string): Promise<void> {
  const hidden = await deps.hiddenFromOthers(path);
  if (hidden) {
    deps.print(`${stage}: WARN ${hidden}: screen lockers run this helper as the user and will fail with exit 3`);
  }
}

/** A misspelled `--require-group` would deny everyone: ask NetAuth for each name (GroupInfo). */
async function checkGroups(client: NetAuthClient, groups: string[], print: (line: string) => void): Promise<ExitCode> {
  if (groups.length === 0) return Exit.SUCCESS;
  const unknown: string[] = [];
  for (const group of groups) if (!(await client.groupExists(group))) unknown.push(group);
  if (unknown.length > 0) {
    print(`groups: FAIL unknown group(s): ${unknown.join(", ")}`);
    return Exit.SERVICE_ERR; // the PAM line's arguments are wrong, as with any bad argument
  }
  print(`groups: ok ${groups.join(", ")} exist`);
  return Exit.SUCCESS;
}
