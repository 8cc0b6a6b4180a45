// `deno task netauthd`: the real netauthd the tests use (v0.6.4, loopback, TLS, the fixture entities and
// groups), kept running for manual logins until Ctrl-C, which removes it again.
import { ADMIN, ADMIN_SECRET, netauthBinDir, startNetAuthd } from "../testkit/netauthd.ts";
import { buildNetAuthIfMissing } from "./netauthd_build.ts";

if (!await buildNetAuthIfMissing((line) => console.log(line))) Deno.exit(1);
const server = await startNetAuthd();
const dir = server.clientConfigDir;
console.log(`netauthd is up on 127.0.0.1:${server.port} (its files and log: ${server.dir})
entities: alice (alice-pw, in ops), bob (bob-pw, in staff), carol (carol-pw, locked), dave (dave-pw); ops ⊂ staff
client config directory: ${dir}
  try the helper:     printf alice-pw | env -i PAM_TYPE=auth PAM_USER=alice PAM_SERVICE=login deno run \\
                        $(./install.sh --print-flags --conf-dir ${dir}) src/main.ts \\
                        --config ${dir}/config.toml; echo "exit $?"
  install against it: sudo ./install.sh --mode bundle --conf-dir ${dir}
  add an entity:      TMPDIR=${server.dir}/tmp ${netauthBinDir()}/netauth --config ${dir}/config.toml \\
                        --entity ${ADMIN} --secret ${ADMIN_SECRET} entity create erin --initial-secret erin-pw
Ctrl-C stops it and removes ${server.dir}.`);
// Ctrl-C under `deno task` delivers SIGINT twice (to the task and, forwarded, to us): clean up once, then exit.
let stopping: Promise<void> | undefined;
const stop = () => {
  stopping ??= server.cleanup().then(() => Deno.exit(0));
};
Deno.addSignalListener("SIGINT", stop);
Deno.addSignalListener("SIGTERM", stop);
await new Promise(() => {});
