import assert from "node:assert/strict";
import { getAsymmetricStartKey, getMasterKey, msChapV2Hlak } from "./mppe_keys.ts";
import { fromHex } from "../../bytes/hex.ts";

// RFC 3079 3.5.3 "Sample Key Derivations" (128-bit key), which reuses the
// RFC 2759 9.2 exchange.
const PASSWORD_HASH_HASH = fromHex("41 C0 0C 58 4B D2 D9 1C 40 17 A2 A1 2F A5 9F 3F");
const NT_RESPONSE = fromHex(
  "82 30 9E CD 8D 70 8B 5E A0 8F AA 39 81 CD 83 54 42 33 11 4A 3D 85 D6 DF",
);
const MASTER_KEY = fromHex("FD EC E3 71 7A 8C 83 8C B3 88 E5 27 AE 3C DD 31");
/** The RFC's SendStartKey128 is the server's (Magic3): the client's receive key. */
const SEND_START_KEY_128 = fromHex("8B 7C DC 14 9B 99 3A 1B A1 18 CB 15 3F 56 DC CB");

Deno.test("getMasterKey() matches RFC 3079 3.5.3", () => {
  assert.deepStrictEqual(getMasterKey(PASSWORD_HASH_HASH, NT_RESPONSE), MASTER_KEY);
});

Deno.test("getAsymmetricStartKey() matches the RFC 3079 3.5.3 SendStartKey128", () => {
  const serverSend = getAsymmetricStartKey(MASTER_KEY, 16, true, true);
  const clientReceive = getAsymmetricStartKey(MASTER_KEY, 16, false, false);
  assert.deepStrictEqual(serverSend, SEND_START_KEY_128);
  assert.deepStrictEqual(clientReceive, SEND_START_KEY_128);
});

Deno.test("getAsymmetricStartKey() pairs client send with server receive", () => {
  const clientSend = getAsymmetricStartKey(MASTER_KEY, 16, true, false);
  const serverReceive = getAsymmetricStartKey(MASTER_KEY, 16, false, true);
  assert.deepStrictEqual(clientSend, serverReceive);
  assert.notDeepStrictEqual(clientSend, SEND_START_KEY_128);
  // 40/56-bit keys are the first 8 bytes of the same digest.
  assert.deepStrictEqual(
    getAsymmetricStartKey(MASTER_KEY, 8, true, true),
    SEND_START_KEY_128.subarray(0, 8),
  );
  assert.throws(() => getAsymmetricStartKey(MASTER_KEY, 12, true, true), RangeError);
});

Deno.test("msChapV2Hlak() puts each role's keys in MS-SSTP order and both agree", () => {
  const client = msChapV2Hlak("client", PASSWORD_HASH_HASH, NT_RESPONSE);
  const server = msChapV2Hlak("server", PASSWORD_HASH_HASH, NT_RESPONSE);
  assert.equal(client.length, 32);
  // Client: MasterSendKey | MasterReceiveKey (its receive key is the RFC's SendStartKey128).
  assert.deepStrictEqual(
    client.subarray(0, 16),
    getAsymmetricStartKey(MASTER_KEY, 16, true, false),
  );
  assert.deepStrictEqual(client.subarray(16, 32), SEND_START_KEY_128);
  // Server: MasterReceiveKey | MasterSendKey.
  assert.deepStrictEqual(
    server.subarray(0, 16),
    getAsymmetricStartKey(MASTER_KEY, 16, false, true),
  );
  assert.deepStrictEqual(server.subarray(16, 32), SEND_START_KEY_128);
  assert.deepStrictEqual(client, server);
});
