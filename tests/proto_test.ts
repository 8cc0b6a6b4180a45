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
  const fields = (message: string) =>
    Object.fromEntries(
      Object.entries(root[message].fields as Record<string, { id: number; type: string }>).map((
        [name, f],
      ) => [name, `${f.type}=${f.id}`]),
    );
  assert.deepEqual(fields("AuthRequest"), { Entity: "Entity=1", Secret: "string=2", Token: "string=98" });
  assert.equal(fields("EntityMeta").Locked, "bool=9");
  assert.equal(fields("ListOfGroups").Groups, "Group=1");
  assert.equal(fields("Group").ManagedBy, "string=5");
});
