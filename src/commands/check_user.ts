/**
 * `--check --user NAME`: what a login for NAME would meet on this host, one line each (the routing in /etc/passwd,
 * the NSS entry, the shadow entry, the PAM service's wiring), then NAME in NetAuth (exists, locked, groups against
 * `--require-group`), without a password. The host facts come from the launcher (src/host_facts.ts).
 *
 * @module
 */
import { Exit, type ExitCode } from "../exit_codes.ts";
import type { HostFacts } from "../host_facts.ts";
import { type NetAuthClient, NetAuthError } from "../netauth/client.ts";
import { hostPamSource, pamExecLines } from "../pam_files.ts";

/** One line of the report and the exit code it stands for (0: nothing wrong). */
export interface Finding {
  /** The line, `stage: …`. */
  line: string;
  /** The exit code a login would get for it; 0 when it is only information. */
  exit: ExitCode;
}

/** Whether `name` is in /etc/passwd as pam_localuser reads it: a line that starts with `name:`. */
export function listedLocally(passwdFile: string, name: string): boolean {
  return passwdFile.split("\n").some((line) => line.startsWith(`${name}:`));
}

const DAY_MS = 86_400_000;

/**
 * The host's side of a login for `facts.user` through `service`: routing, NSS, shadow, PAM wiring. `today` is in days
 * since the epoch (shadow's unit).
 */
export function hostFindings(facts: HostFacts, service: string, today = Math.floor(Date.now() / DAY_MS)): Finding[] {
  const name = facts.user;
  const out: Finding[] = [];
  const local = facts.passwdFile === undefined ? undefined : listedLocally(facts.passwdFile, name);
  if (local === undefined) {
    out.push({
      line: "user: FAIL /etc/passwd is not readable: pam_localuser ends every login",
      exit: Exit.SERVICE_ERR,
    });
  } else if (local) {
    out.push({
      line: `user: ${name} is a local account (in /etc/passwd): pam_localuser sends it to pam_unix alone, never to ` +
        "NetAuth. NetAuth users made with useradd never reach NetAuth: userdel it and serve it from NSS",
      exit: Exit.SUCCESS,
    });
  } else {
    out.push({ line: `user: ok ${name} is not in /etc/passwd: pam_localuser sends it to the helper`, exit: 0 });
  }

  const entry = facts.passwd.line?.split(":");
  if (facts.passwd.status !== 0 || !entry || entry.length < 7) {
    out.push({
      line: `nss: FAIL getent passwd ${name} finds no entry: sshd refuses the name before PAM ("Invalid user"), ` +
        "login and su too, whatever NetAuth says",
      exit: Exit.USER_UNKNOWN,
    });
  } else {
    out.push({
      line: `nss: ok ${name} uid ${entry[2]} gid ${entry[3]} home ${entry[5]} shell ${entry[6]} (password field ` +
        `${entry[1] === "*" || entry[1] === "x" ? entry[1] : "set"})`,
      exit: 0,
    });
  }
  out.push(shadowFinding(facts, entry?.[1], local === true, today));
  out.push(...pamFindings(facts, service, local === true));
  return out;
}

function shadowFinding(facts: HostFacts, passwdField: string | undefined, local: boolean, today: number): Finding {
  if (facts.euid !== 0) {
    return { line: "shadow: WARN not read: run --check as root to see what pam_unix will do", exit: 0 };
  }
  const fields = facts.shadow.status === 0 ? facts.shadow.line?.split(":") : undefined;
  if (!fields || fields.length < 8) {
    if (passwdField === "x") {
      return {
        line: "shadow: FAIL no shadow entry, and the passwd field is x: pam_unix's account check refuses the login " +
          '(PAM_AUTHINFO_UNAVAIL; sshd says "User account has expired"): write * in the passwd field',
        exit: Exit.AUTHINFO_UNAVAIL,
      };
    }
    return {
      line: local
        ? "shadow: no entry: pam_unix checks the password in the passwd field"
        : "shadow: ok no entry: pam_unix's account check has no ageing to enforce",
      exit: 0,
    };
  }
  const expire = fields[7] === "" ? undefined : Number(fields[7]);
  if (expire !== undefined && expire <= today) {
    const on = new Date(expire * DAY_MS).toISOString().slice(0, 10);
    return { line: `shadow: FAIL the account expired on ${on}: pam_unix's account check refuses it`, exit: 6 };
  }
  const shape = fields[1];
  if (!local) {
    return {
      line: `shadow: ok an entry (${describeShape(shape)}): pam_unix enforces its ageing in the account phase; its ` +
        "password is never asked (the helper decides)",
      exit: 0,
    };
  }
  if (shape === "HASH") return { line: "shadow: ok password set: pam_unix checks it", exit: 0 };
  if (shape === "") {
    return { line: "shadow: WARN empty password: with nullok, pam_unix lets anyone in as this account", exit: 0 };
  }
  return { line: `shadow: WARN ${describeShape(shape)}: pam_unix refuses every password for it`, exit: 0 };
}

function describeShape(shape: string): string {
  if (shape === "HASH") return "password set";
  if (shape === "") return "empty password";
  if (shape.startsWith("!") && shape.endsWith("HASH")) return "password locked";
  return `no password (${shape})`;
}

/** Whether the service runs the helper for auth and account, and where. */
function pamFindings(facts: HostFacts, service: string, local: boolean): Finding[] {
  const path = [`/etc/pam.d/${service}`, `/usr/lib/pam.d/${service}`].find((p) => facts.pamFiles.has(p));
  if (!path) {
    return [{
      line: `pam: FAIL no /etc/pam.d/${service}: PAM uses /etc/pam.d/other for it (--service names the PAM service)`,
      exit: Exit.SERVICE_ERR,
    }];
  }
  const source = hostPamSource({
    destdir: "",
    pamDir: "/etc/pam.d",
    targets: [],
    readText: (p) => {
      const text = facts.pamFiles.get(p);
      if (text === undefined) throw new Error(`${p}: not found`);
      return text;
    },
    realPath: (p) => p,
  });
  // The helper is whatever pam_exec runs under this program's name: the launcher, the package's front script.
  const lines = pamExecLines(path, facts.pamFiles.get(path)!, {
    ...source,
    runsHelper: (command) => command.split("/").at(-1) === "netauth-pam-helper",
  });
  const where = (type: string) => lines.filter((l) => l.type === type).map((l) => `${l.file}:${l.line}`);
  const auth = where("auth"), account = where("account");
  if (auth.length > 0 && account.length > 0) {
    return [{ line: `pam: ok ${service} runs the helper for auth (${auth}) and account (${account})`, exit: 0 }];
  }
  const missing = [auth.length === 0 ? "auth" : "", account.length === 0 ? "account" : ""].filter(Boolean);
  if (local) {
    return [{ line: `pam: ${service} does not run the helper for ${missing.join(" or ")} (no matter here)`, exit: 0 }];
  }
  return [{
    line: `pam: FAIL ${service} does not run the helper for ${missing.join(" or ")}: ` +
      (auth.length === 0 ? "passwords of NetAuth users are never asked of NetAuth" : "key logins skip NetAuth"),
    exit: Exit.SERVICE_ERR,
  }];
}

/** NAME in NetAuth, without a password: EntityInfo, then EntityGroups against `requireGroups`. */
export async function netAuthFindings(
  client: NetAuthClient,
  name: string,
  requireGroups: string[],
  local: boolean,
): Promise<Finding[]> {
  let locked: boolean;
  try {
    locked = (await client.entityInfo(name)).locked;
  } catch (err) {
    if (err instanceof NetAuthError && err.kind === "not_found") {
      return local
        ? [{ line: `entity: NetAuth has no entity ${name} (a local account: no matter)`, exit: 0 }]
        : [{ line: `entity: FAIL NetAuth has no entity ${name}: logins refused (auth 7, account 10)`, exit: 10 }];
    }
    throw err;
  }
  if (local) {
    return [{
      line: `entity: WARN NetAuth has an entity ${name}, but logins never ask NetAuth: it is a local account. ` +
        "NetAuth users made with useradd never reach NetAuth: userdel it and serve it from NSS",
      exit: Exit.AUTH_ERR,
    }];
  }
  if (locked) return [{ line: `entity: FAIL ${name} is locked: logins refused (auth 7, account 6)`, exit: 6 }];
  const out: Finding[] = [{ line: `entity: ok ${name} exists and is not locked`, exit: 0 }];
  const groups = await client.entityGroups(name);
  const shown = groups.length > 0 ? groups.join(", ") : "no group";
  if (requireGroups.length === 0) {
    out.push({ line: `member: ${name} is in ${shown} (no --require-group given)`, exit: 0 });
  } else if (requireGroups.some((group) => groups.includes(group))) {
    out.push({
      line: `member: ok ${name} is in ${requireGroups.filter((g) => groups.includes(g)).join(", ")}`,
      exit: 0,
    });
  } else {
    out.push({
      line: `member: FAIL ${name} is in none of ${requireGroups.join(", ")} (it is in ${shown}): logins refused (6)`,
      exit: Exit.PERM_DENIED,
    });
  }
  return out;
}
