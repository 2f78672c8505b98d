/**
 * Crypto binding (MS-SSTP 2.2.7, 2.2.11, 3.2.5.2): ties the PPP
 * authentication to the TLS connection it ran over.
 *
 * - HLAK: 32 bytes from the PPP authentication (longer is cut, shorter is
 *   padded with zeros; no keys means 32 zeros) (MS-SSTP 3.2.5.2.2).
 * - CMK = T1 of PRF+ = HMAC-H(HLAK, "SSTP inner method derived CMK" | LEN | 0x01),
 *   LEN the digest length (20 or 32) as a 16-bit LITTLE-endian integer
 *   (MS-SSTP 3.2.5.2.2, 3.2.5.2.4). One block is enough for both hashes.
 * - Compound MAC = HMAC-H(CMK, the 112-byte Call Connected message with the
 *   Compound MAC field and its padding zeroed) (MS-SSTP 3.2.5.2.1, 3.2.5.2.3).
 *
 * Synchronous `node:crypto` keeps the state machines synchronous.
 *
 * @module
 */
import { createHash, createHmac } from "node:crypto";
import { timingSafeEqual } from "../bytes/hex.ts";
import { ERROR_CODE, ProtocolError } from "../errors.ts";
import { CRYPTO_BINDING_FIELD_LENGTH, type CryptoBindingAttribute } from "./attributes.ts";
import {
  HASH_LENGTH,
  HASH_PROTOCOL,
  type HashProtocol,
  MESSAGE_TYPE,
  NONCE_LENGTH,
} from "./constants.ts";
import { encodeSstpControlMessage, type SstpControlMessage } from "./control_message.ts";

/** Both hashes of the server certificate's DER (MS-SSTP 2.2.7 Cert Hash). */
export interface CertHashes {
  /** SHA-1 of the DER certificate (20 bytes). */
  sha1: Uint8Array;
  /** SHA-256 of the DER certificate (32 bytes). */
  sha256: Uint8Array;
}

/** The Compound MAC Key seed (MS-SSTP 3.2.5.2.2): 29 ASCII bytes. */
const CMK_SEED = new TextEncoder().encode("SSTP inner method derived CMK");

/** HLAK length (MS-SSTP 3.2.5.2.2). */
export const HLAK_LENGTH = 32;

function algorithm(hashProtocol: HashProtocol): "sha1" | "sha256" {
  return hashProtocol === HASH_PROTOCOL.SHA1 ? "sha1" : "sha256";
}

function checkHashProtocol(hashProtocol: number): asserts hashProtocol is HashProtocol {
  if (hashProtocol !== HASH_PROTOCOL.SHA1 && hashProtocol !== HASH_PROTOCOL.SHA256) {
    throw new RangeError(
      `Cannot use hash protocol ${hashProtocol}: expected 1 (SHA1) or 2 (SHA256)`,
    );
  }
}

function hmac(hashProtocol: HashProtocol, key: Uint8Array, ...data: Uint8Array[]): Uint8Array {
  const h = createHmac(algorithm(hashProtocol), key);
  for (const d of data) h.update(d);
  return new Uint8Array(h.digest());
}

/**
 * Hashes a DER certificate with SHA-1 and SHA-256.
 *
 * @example
 * ```ts
 * import { certHashes } from "./crypto_binding.ts";
 * const { sha1, sha256 } = certHashes(new Uint8Array([0x30, 0x00]));
 * if (sha1.length !== 20 || sha256.length !== 32) throw new Error();
 * ```
 */
export function certHashes(der: Uint8Array): CertHashes {
  return {
    sha1: new Uint8Array(createHash("sha1").update(der).digest()),
    sha256: new Uint8Array(createHash("sha256").update(der).digest()),
  };
}

/** Cuts or zero-pads a higher-layer key to the 32-byte HLAK (MS-SSTP 3.2.5.2.2). */
export function normalizeHlak(hlak: Uint8Array): Uint8Array {
  const out = new Uint8Array(HLAK_LENGTH);
  out.set(hlak.subarray(0, HLAK_LENGTH));
  return out;
}

/**
 * Derives the Compound MAC Key: the first PRF+ block, HMAC-H(HLAK, seed |
 * LEN (u16 little-endian) | 0x01) (MS-SSTP 3.2.5.2.2, 3.2.5.2.4).
 *
 * @param hlak Higher-layer authentication key; normalized to 32 bytes.
 * @param hashProtocol 1 (SHA1, 20-byte CMK) or 2 (SHA256, 32-byte CMK).
 * @throws {RangeError} For another hash protocol.
 */
export function deriveCmk(hlak: Uint8Array, hashProtocol: number): Uint8Array {
  checkHashProtocol(hashProtocol);
  const len = HASH_LENGTH[hashProtocol];
  // LEN is little-endian (MS-SSTP 3.2.5.2.2), unlike every other SSTP field.
  const tail = new Uint8Array([len & 0xff, len >> 8, 0x01]);
  return hmac(hashProtocol, normalizeHlak(hlak), CMK_SEED, tail);
}

/** Pads a 20- or 32-byte value to the 32-byte Cert Hash / Compound MAC field. */
function field(value: Uint8Array): Uint8Array {
  const out = new Uint8Array(CRYPTO_BINDING_FIELD_LENGTH);
  out.set(value);
  return out;
}

function callConnected(binding: CryptoBindingAttribute): SstpControlMessage {
  return { messageType: MESSAGE_TYPE.CALL_CONNECTED, attributes: [binding] };
}

function computeMac(
  hashProtocol: HashProtocol,
  nonce: Uint8Array,
  certHashField: Uint8Array,
  hlak: Uint8Array,
): Uint8Array {
  const zeroed = callConnected({
    kind: "cryptoBinding",
    hashProtocol,
    nonce,
    certHash: certHashField,
    compoundMac: new Uint8Array(CRYPTO_BINDING_FIELD_LENGTH),
  });
  return hmac(hashProtocol, deriveCmk(hlak, hashProtocol), encodeSstpControlMessage(zeroed));
}

/** Inputs of {@linkcode buildCallConnected}. */
export interface BuildCallConnectedOptions {
  /** Hash protocol chosen from the server's bitmask: 1 (SHA1) or 2 (SHA256). */
  hashProtocol: number;
  /** Nonce from the Call Connect Ack (32 bytes). */
  nonce: Uint8Array;
  /** Server certificate hash for `hashProtocol` (20 or 32 bytes). */
  certHash: Uint8Array;
  /** Client HLAK (MS-SSTP 3.2.5.2.2). */
  hlak: Uint8Array;
}

/**
 * Builds the Call Connected message with its Crypto Binding attribute and
 * Compound MAC (MS-SSTP 2.2.11, 3.2.5.2). SHA-1 values are padded with 12
 * zero bytes.
 *
 * @example
 * ```ts
 * import { buildCallConnected } from "./crypto_binding.ts";
 * import { encodeSstpControlMessage } from "./control_message.ts";
 * const m = buildCallConnected({
 *   hashProtocol: 2,
 *   nonce: new Uint8Array(32),
 *   certHash: new Uint8Array(32),
 *   hlak: new Uint8Array(32),
 * });
 * if (encodeSstpControlMessage(m).length !== 112) throw new Error();
 * ```
 *
 * @throws {RangeError} For a bad hash protocol or field size.
 */
export function buildCallConnected(options: BuildCallConnectedOptions): SstpControlMessage {
  const { hashProtocol, nonce, certHash, hlak } = options;
  checkHashProtocol(hashProtocol);
  if (nonce.length !== NONCE_LENGTH) {
    throw new RangeError(
      `Cannot build Call Connected: nonce has ${nonce.length} bytes, expected 32`,
    );
  }
  if (certHash.length !== HASH_LENGTH[hashProtocol]) {
    throw new RangeError(
      `Cannot build Call Connected: cert hash has ${certHash.length} bytes, expected ${
        HASH_LENGTH[hashProtocol]
      }`,
    );
  }
  const certHashField = field(certHash);
  const mac = computeMac(hashProtocol, nonce, certHashField, hlak);
  return callConnected({
    kind: "cryptoBinding",
    hashProtocol,
    nonce: nonce.slice(),
    certHash: certHashField,
    compoundMac: field(mac),
  });
}

/** What the server checks a Call Connected against (MS-SSTP 3.3.5.2.3). */
export interface VerifyCallConnectedOptions {
  /** Nonce the server sent in its Call Connect Ack. */
  nonce: Uint8Array;
  /** Hashes of the certificate the server used (ServerCertificateHash). */
  certHashes: CertHashes;
  /** Server HLAK (MS-SSTP 3.2.5.2.2: MasterReceiveKey | MasterSendKey for MS-CHAPv2). */
  hlak: Uint8Array;
  /** Hash Protocol Bitmask the server offered. */
  offeredBitmask: number;
}

/** Outcome of {@linkcode verifyCallConnected}. */
export type VerifyCallConnectedResult =
  | { ok: true }
  | { ok: false; reason: "nonce" | "certHash" | "mac" | "hashProtocol" };

/**
 * Verifies the Crypto Binding of a Call Connected message (MS-SSTP
 * 3.3.5.2.3): the hash protocol was offered, the nonce is ours, the cert hash
 * is our certificate's, and the Compound MAC is right. Comparisons are
 * constant-time; padding bytes are ignored on receipt (MS-SSTP 2.2.7).
 *
 * @throws {ProtocolError} `BAD_ATTRIBUTE` unless the message holds exactly
 * one Crypto Binding attribute (validate the message first).
 */
export function verifyCallConnected(
  message: SstpControlMessage,
  options: VerifyCallConnectedOptions,
): VerifyCallConnectedResult {
  const bindings = message.attributes.filter((a) => a.kind === "cryptoBinding");
  const binding = bindings[0];
  if (binding === undefined || bindings.length !== 1) {
    throw new ProtocolError(
      "sstp",
      ERROR_CODE.BAD_ATTRIBUTE,
      `Cannot verify Call Connected: ${bindings.length} Crypto Binding attributes, expected 1`,
    );
  }
  const hp = binding.hashProtocol;
  if (
    (hp !== HASH_PROTOCOL.SHA1 && hp !== HASH_PROTOCOL.SHA256) ||
    (options.offeredBitmask & hp) === 0
  ) {
    return { ok: false, reason: "hashProtocol" };
  }
  if (!timingSafeEqual(binding.nonce, options.nonce)) return { ok: false, reason: "nonce" };
  const n = HASH_LENGTH[hp];
  const expectedHash = hp === HASH_PROTOCOL.SHA1
    ? options.certHashes.sha1
    : options.certHashes.sha256;
  if (!timingSafeEqual(binding.certHash.subarray(0, n), expectedHash)) {
    return { ok: false, reason: "certHash" };
  }
  const mac = computeMac(hp, options.nonce, field(expectedHash), options.hlak);
  if (!timingSafeEqual(binding.compoundMac.subarray(0, n), mac)) {
    return { ok: false, reason: "mac" };
  }
  return { ok: true };
}
