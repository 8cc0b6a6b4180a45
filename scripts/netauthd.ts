// `deno task netauthd`: the real netauthd the tests use (v0.6.4, loopback, TLS, the fixture entities and
// groups), kept running for manual logins until Ctrl-C, which removes it again.
import { ADMIN, ADMIN_SECRET, ensureNetAuthBinaries, netauthBinDir, startNetAuthd } from "../tests/support/netauthd.ts";

const bins = await ensureNetAuthBinaries();
if (!bins.ok) {
  console.error(`netauthd: ${bins.why}`);
  Deno.exit(1);
}
const server = await startNetAuthd();
console.log(`netauthd is up on 127.0.0.1:${server.port} (log: ${server.dir})
entities: alice (alice-pw, in ops), bob (bob-pw, in staff), carol (carol-pw, locked), dave (dave-pw); ops ⊂ staff
client config directory: ${server.clientConfigDir}
  try the helper:   printf alice-pw | env -i PAM_TYPE=auth PAM_USER=alice PAM_SERVICE=login deno run \\
                      $(./install.sh --print-flags --conf-dir ${server.clientConfigDir}) src/main.ts \\
                      --config ${server.clientConfig}; echo "exit $?"
  install against it: sudo ./install.sh --mode bundle --conf-dir ${server.clientConfigDir}
  add an entity:    ${netauthBinDir()}/netauth --config ${server.clientConfig} --entity ${ADMIN} \\
                      --secret ${ADMIN_SECRET} entity create erin --initial-secret erin-pw
Ctrl-C stops and removes it.`);
const stop = async () => {
  await server.cleanup();
  Deno.exit(0);
};
Deno.addSignalListener("SIGINT", stop);
Deno.addSignalListener("SIGTERM", stop);
await new Promise(() => {});
