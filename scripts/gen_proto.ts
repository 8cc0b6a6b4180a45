// Regenerates proto/netauth.json, the descriptor the helper imports, from proto/*.proto.
// `deno task proto` writes it; tests/proto_test.ts fails when the committed copy is stale.
import protobuf from "protobufjs";

const protoDir = new URL("../proto/", import.meta.url).pathname;
export const descriptorPath = `${protoDir}netauth.json`;

/** The descriptor as committed: protobufjs JSON of both files, two-space indented. */
export function renderDescriptor(): string {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => `${protoDir}${target.replace(/^.*\//, "")}`;
  root.loadSync("netauth_v2.proto", { keepCase: true });
  return JSON.stringify(root.toJSON(), null, 2) + "\n";
}

if (import.meta.main) {
  await Deno.writeTextFile(descriptorPath, renderDescriptor());
  console.log(`wrote ${descriptorPath}`);
}
