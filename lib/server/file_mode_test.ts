import assert from "node:assert/strict";
import { permissionWarning, readableBeyondOwner } from "./file_mode.ts";

Deno.test("readableBeyondOwner() covers group-readable as well as world-readable files", () => {
  assert.equal(readableBeyondOwner(0o600), undefined);
  assert.equal(readableBeyondOwner(0o400), undefined);
  assert.equal(readableBeyondOwner(0o640), "its group");
  assert.equal(readableBeyondOwner(0o604), "other users");
  assert.equal(readableBeyondOwner(0o644), "its group and other users");
  assert.equal(readableBeyondOwner(0o100640), "its group", "file type bits are ignored");
  assert.equal(readableBeyondOwner(null), undefined);
  assert.equal(
    permissionWarning("/etc/sstp/server.key", 0o640, "a private key"),
    "/etc/sstp/server.key is readable by its group and holds a private key: chmod 600 /etc/sstp/server.key",
  );
});
