/**
 * Crypto binding vectors.
 *
 * The expected CMK and Compound MAC values are the MS-SSTP 4.7 examples. They
 * were cross-checked on the command line with openssl (OpenSSL 3), e.g. for
 * SHA-256:
 *
 * ```sh
 * SEED=$(printf 'SSTP inner method derived CMK' | xxd -p | tr -d '\n')
 * echo -n "${SEED}200001" | xxd -r -p | openssl dgst -sha256 -mac HMAC -macopt hexkey:$HLAK   # CMK
 * echo -n "$CALL_CONNECTED_WITH_ZERO_MAC" | xxd -r -p | openssl dgst -sha256 -mac HMAC -macopt hexkey:$CMK
 * ```
 *
 * and for SHA-1 with `140001` (LEN 20, little-endian) and `-sha1`. Both
 * reproduce the MACs printed in the spec. The tests also recompute them with
 * the straightforward RFC 2104 HMAC below, built on plain hashes.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { fromHex, toHex } from "../bytes/hex.ts";
import { readHexFixture } from "../../test/helpers/sstp_builders.ts";
import { ProtocolError } from "../errors.ts";
import {
  buildCallConnected,
  certHashes,
  deriveCmk,
  normalizeHlak,
  verifyCallConnected,
} from "./crypto_binding.ts";
import {
  decodeSstpControlMessage,
  encodeSstpControlMessage,
  type SstpControlMessage,
} from "./control_message.ts";

/** RFC 2104 HMAC from plain hashes: H((K ^ opad) | H((K ^ ipad) | m)), block size 64. */
function referenceHmac(alg: "sha1" | "sha256", key: Uint8Array, message: Uint8Array): Uint8Array {
  const k = new Uint8Array(64);
  k.set(key.length > 64 ? createHash(alg).update(key).digest() : key);
  const inner = createHash(alg).update(k.map((b) => b ^ 0x36)).update(message).digest();
  return new Uint8Array(createHash(alg).update(k.map((b) => b ^ 0x5c)).update(inner).digest());
}

const SEED = new TextEncoder().encode("SSTP inner method derived CMK");

const VECTORS = [
  {
    name: "SHA-256",
    alg: "sha256" as const,
    hashProtocol: 2,
    fixture: "sstp_call_connected.hex",
    hlak: fromHex("2a1bb40d55ab0f5ef32f06f2b3cc73c48fd3fac41d7a1315a19228d9024ca164"),
    nonce: fromHex("412b489aebd7ecc7d08966f26be7cd72b231a0e9210d7c91b308862b0344c435"),
    certHash: fromHex("7993ef314c493dace9f02d60e7e61c84b6690aafe9d7aeea92cbbe8ad599422d"),
    cmk: "ecf59ac9fe155cf0a9e7d66adc1b363c1ad7ba91a9217f0cec2a534298828df6",
    mac: "52a68efd8cffbf52770b8f0fe8ec73716583af6d611eb6d179b3b20840985449",
    len: [32, 0],
  },
  {
    name: "SHA-1",
    alg: "sha1" as const,
    hashProtocol: 1,
    fixture: "sstp_call_connected_sha1.hex",
    hlak: fromHex("4b3128f43925d9006eefb1c4e86515a1d88e56bab3ca2bdf0373b7f5a8a13b19"),
    nonce: fromHex("0f1a2d58d4a3e3000fad3ce4906e07b707aa9e441cceac5cbd7b2cc1c9d86cdf"),
    certHash: fromHex("5826b629bda59b8e6fd8dcd2622fd34c534805a5"),
    cmk: "a98b862a38cc7e224b42cd128586acb22f0bd1e9",
    mac: "69915dd583d8062fef16f61db2f03290ec27cb6c",
    len: [20, 0],
  },
];

for (const v of VECTORS) {
  Deno.test(`deriveCmk() matches the MS-SSTP 4.7 ${v.name} vector and a reference PRF+`, () => {
    const cmk = deriveCmk(v.hlak, v.hashProtocol);
    assert.equal(toHex(cmk), v.cmk);
    const t1 = referenceHmac(v.alg, v.hlak, new Uint8Array([...SEED, ...v.len, 0x01]));
    assert.deepEqual(cmk, t1);
  });

  Deno.test(`buildCallConnected() reproduces the MS-SSTP 4.7 ${v.name} Call Connected byte for byte`, () => {
    const message = buildCallConnected({
      hashProtocol: v.hashProtocol,
      nonce: v.nonce,
      certHash: v.certHash,
      hlak: v.hlak,
    });
    const bytes = encodeSstpControlMessage(message);
    assert.deepEqual(bytes, readHexFixture(v.fixture));
    // Independent recomputation: MAC over the 112 bytes with the MAC field zeroed.
    const zeroed = bytes.slice();
    zeroed.fill(0, 80, 112);
    const mac = referenceHmac(
      v.alg,
      referenceHmac(v.alg, v.hlak, new Uint8Array([...SEED, ...v.len, 1])),
      zeroed,
    );
    assert.equal(toHex(mac), v.mac);
    assert.equal(toHex(bytes.subarray(80, 80 + mac.length)), v.mac);
  });

  Deno.test(`verifyCallConnected() accepts the MS-SSTP 4.7 ${v.name} Call Connected`, () => {
    const message = decodeSstpControlMessage(readHexFixture(v.fixture));
    const hashes = v.hashProtocol === 1
      ? { sha1: v.certHash, sha256: new Uint8Array(32) }
      : { sha1: new Uint8Array(20), sha256: v.certHash };
    const options = { nonce: v.nonce, certHashes: hashes, hlak: v.hlak, offeredBitmask: 3 };
    assert.deepEqual(verifyCallConnected(message, options), { ok: true });

    const tamper = (mutate: (bytes: Uint8Array) => void): SstpControlMessage => {
      const bytes = readHexFixture(v.fixture);
      mutate(bytes);
      return decodeSstpControlMessage(bytes);
    };
    assert.deepEqual(verifyCallConnected(tamper((b) => b[20] = (b[20] ?? 0) ^ 1), options), {
      ok: false,
      reason: "nonce",
    });
    assert.deepEqual(verifyCallConnected(tamper((b) => b[50] = (b[50] ?? 0) ^ 1), options), {
      ok: false,
      reason: "certHash",
    });
    assert.deepEqual(verifyCallConnected(tamper((b) => b[90] = (b[90] ?? 0) ^ 1), options), {
      ok: false,
      reason: "mac",
    });
    assert.deepEqual(verifyCallConnected(tamper((b) => b[15] = 3 - v.hashProtocol), options), {
      ok: false,
      reason: "certHash",
    });
    assert.deepEqual(verifyCallConnected(tamper((b) => b[15] = 7), options), {
      ok: false,
      reason: "hashProtocol",
    });
    assert.deepEqual(
      verifyCallConnected(message, { ...options, offeredBitmask: 3 - v.hashProtocol }),
      { ok: false, reason: "hashProtocol" },
    );
    assert.deepEqual(verifyCallConnected(message, { ...options, hlak: new Uint8Array(32) }), {
      ok: false,
      reason: "mac",
    });
  });
}

Deno.test("verifyCallConnected() ignores the padding after a SHA-1 hash and MAC", () => {
  const v = VECTORS[1];
  assert.ok(v !== undefined);
  const bytes = readHexFixture(v.fixture);
  bytes[70] = 0xee; // Padding after the cert hash (bytes 68..79)
  bytes[111] = 0xee; // Padding1 after the MAC (bytes 100..111)
  const options = {
    nonce: v.nonce,
    certHashes: { sha1: v.certHash, sha256: new Uint8Array(32) },
    hlak: v.hlak,
    offeredBitmask: 1,
  };
  assert.deepEqual(verifyCallConnected(decodeSstpControlMessage(bytes), options), { ok: true });
});

Deno.test("verifyCallConnected() throws BAD_ATTRIBUTE without exactly one Crypto Binding", () => {
  const options = {
    nonce: new Uint8Array(32),
    certHashes: certHashes(new Uint8Array()),
    hlak: new Uint8Array(32),
    offeredBitmask: 3,
  };
  assert.throws(
    () => verifyCallConnected({ messageType: 4, attributes: [] }, options),
    (e) => e instanceof ProtocolError && e.code === "BAD_ATTRIBUTE",
  );
});

Deno.test("deriveCmk() cuts a long HLAK and zero-pads a short one (MS-SSTP 3.2.5.2.2)", () => {
  const short = fromHex("0102");
  const padded = new Uint8Array(32);
  padded.set(short);
  assert.deepEqual(normalizeHlak(short), padded);
  assert.deepEqual(deriveCmk(short, 2), deriveCmk(padded, 2));
  const long = new Uint8Array(64).fill(9);
  assert.deepEqual(deriveCmk(long, 1), deriveCmk(long.subarray(0, 32), 1));
  assert.throws(() => deriveCmk(padded, 3), RangeError);
});

Deno.test("certHashes() hashes the DER with SHA-1 and SHA-256", () => {
  const der = new TextEncoder().encode("abc");
  const { sha1, sha256 } = certHashes(der);
  assert.equal(toHex(sha1), "a9993e364706816aba3e25717850c26c9cd0d89d");
  assert.equal(toHex(sha256), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
});

Deno.test("buildCallConnected() rejects wrong sizes and hash protocols", () => {
  const base = {
    hashProtocol: 2,
    nonce: new Uint8Array(32),
    certHash: new Uint8Array(32),
    hlak: new Uint8Array(32),
  };
  assert.throws(() => buildCallConnected({ ...base, hashProtocol: 0 }), RangeError);
  assert.throws(() => buildCallConnected({ ...base, nonce: new Uint8Array(16) }), RangeError);
  assert.throws(() => buildCallConnected({ ...base, certHash: new Uint8Array(20) }), RangeError);
});
