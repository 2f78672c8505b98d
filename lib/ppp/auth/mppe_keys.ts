/**
 * MS-CHAPv2 master keys (RFC 3079 3.4) and the SSTP Higher-Layer
 * Authentication Key built from them (MS-SSTP 3.2.5.2.2, 3.2.5.2.4).
 *
 * ```
 * MasterKey = SHA1(PasswordHashHash | NT-Response | Magic1)[0..16]
 * StartKey  = SHA1(MasterKey | SHSpad1 | Magic2-or-3 | SHSpad2)[0..len]
 *   Magic2: client send key  = server receive key
 *   Magic3: client receive key = server send key
 * HLAK(client) = MasterSendKey(client) | MasterReceiveKey(client)
 * HLAK(server) = MasterReceiveKey(server) | MasterSendKey(server)
 * ```
 *
 * Because the client's send key is the server's receive key (both Magic2) and
 * the client's receive key is the server's send key (both Magic3), the two
 * HLAKs of one session are the same 32 bytes, as the Compound MAC needs.
 *
 * @module
 */
import { sha1 } from "../crypto/digest.ts";
import { concatBytes } from "../../bytes/hex.ts";

const encoder = new TextEncoder();
/** RFC 3079 3.4 Magic1. */
const MPPE_MAGIC_1 = encoder.encode("This is the MPPE Master Key");
/** RFC 3079 3.4 Magic2. */
const MPPE_MAGIC_2 = encoder.encode(
  "On the client side, this is the send key; on the server side, it is the receive key.",
);
/** RFC 3079 3.4 Magic3. */
const MPPE_MAGIC_3 = encoder.encode(
  "On the client side, this is the receive key; on the server side, it is the send key.",
);
/** RFC 3079 3.4 SHSpad1: 40 zero bytes. */
const SHS_PAD_1 = new Uint8Array(40);
/** RFC 3079 3.4 SHSpad2: 40 bytes of 0xf2. */
const SHS_PAD_2 = new Uint8Array(40).fill(0xf2);

/** Which end of the link derives a key. */
export type HlakRole = "client" | "server";

/**
 * RFC 3079 3.4 `GetMasterKey` (16 bytes).
 *
 * @param passwordHashHash MD4(MD4(UTF-16LE(password))), 16 bytes.
 * @param ntResponse The 24-byte NT-Response.
 */
export function getMasterKey(passwordHashHash: Uint8Array, ntResponse: Uint8Array): Uint8Array {
  return sha1(passwordHashHash, ntResponse, MPPE_MAGIC_1).subarray(0, 16);
}

/**
 * RFC 3079 3.4 `GetAsymmetricStartKey`.
 *
 * @param masterKey From {@linkcode getMasterKey}.
 * @param sessionKeyLength 8 (40- and 56-bit keys) or 16 (128-bit keys).
 * @param isSend The key for sending (true) or receiving (false).
 * @param isServer Derived on the server (authenticator) side.
 * @throws {RangeError} If `sessionKeyLength` is not 8 or 16.
 */
export function getAsymmetricStartKey(
  masterKey: Uint8Array,
  sessionKeyLength: number,
  isSend: boolean,
  isServer: boolean,
): Uint8Array {
  if (sessionKeyLength !== 8 && sessionKeyLength !== 16) {
    throw new RangeError(`Cannot derive MPPE start key: length ${sessionKeyLength} is not 8 or 16`);
  }
  const magic = isSend === isServer ? MPPE_MAGIC_3 : MPPE_MAGIC_2;
  return sha1(masterKey, SHS_PAD_1, magic, SHS_PAD_2).subarray(0, sessionKeyLength);
}

/**
 * The 32-byte SSTP HLAK of an MS-CHAPv2 session (MS-SSTP 3.2.5.2.2, 3.2.5.2.4;
 * docs/interop.md#hlak): the client uses MasterSendKey | MasterReceiveKey and the server
 * MasterReceiveKey | MasterSendKey, each from its own side (RFC 3079 3.4,
 * 16-byte keys). Both ends therefore compute the same bytes.
 *
 * @param role Which side computes it.
 * @param passwordHashHash MD4(MD4(UTF-16LE(password))).
 * @param ntResponse The 24-byte NT-Response of the exchange.
 */
export function msChapV2Hlak(
  role: HlakRole,
  passwordHashHash: Uint8Array,
  ntResponse: Uint8Array,
): Uint8Array {
  const master = getMasterKey(passwordHashHash, ntResponse);
  const isServer = role === "server";
  const send = getAsymmetricStartKey(master, 16, true, isServer);
  const receive = getAsymmetricStartKey(master, 16, false, isServer);
  return isServer ? concatBytes(receive, send) : concatBytes(send, receive);
}
