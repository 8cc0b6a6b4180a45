import assert from "node:assert/strict";
import { descriptorPath, renderDescriptor } from "../scripts/gen_proto.ts";

Deno.test("proto/netauth.json is generated from proto/*.proto (run `deno task proto`)", async () => {
  assert.equal(await Deno.readTextFile(descriptorPath), renderDescriptor());
});

Deno.test("the NetAuth v2 wire facts this helper relies on hold in the descriptor", () => {
  const root = JSON.parse(renderDescriptor()).nested;
  const methods = root.netauth.nested.v2.nested.NetAuth2.methods;
  assert.deepEqual(methods.AuthEntity, { requestType: ".AuthRequest", responseType: ".Empty" });
  assert.deepEqual(methods.EntityGroups, { requestType: ".EntityRequest", responseType: ".ListOfGroups" });
  assert.deepEqual(methods.GroupInfo, { requestType: ".GroupRequest", responseType: ".ListOfGroups" });
  const fields = (message: string) =>
    Object.fromEntries(
      Object.entries(root[message].fields as Record<string, { id: number; type: string }>).map((
        [name, f],
      ) => [name, `${f.type}=${f.id}`]),
    );
  // NetAuth says `string Secret = 2`; `bytes` is the same on the wire and carries any bytes.
  assert.deepEqual(fields("AuthRequest"), { Entity: "Entity=1", Secret: "bytes=2", Token: "string=98" });
  assert.deepEqual(fields("GroupRequest"), { Group: "Group=1", Data: "Group=2" });
  assert.equal(fields("EntityMeta").Locked, "bool=9");
  assert.equal(fields("ListOfGroups").Groups, "Group=1");
  assert.equal(fields("Group").ManagedBy, "string=5");
});
