/**
 * The two RADIUS value ciphers: User-Password hiding (RFC 2865 5.2) and the
 * MS-MPPE-Send-Key / MS-MPPE-Recv-Key encryption (RFC 2548 2.4.2, 2.4.3).
 * Both are MD5 stream constructions keyed with the shared secret and the
 * Request Authenticator. Pure.
 *
 * @module
 */
import { ERROR_CODE, ProtocolError } from "../errors.ts";
import { md5 } from "../ppp/crypto/digest.ts";

const encoder = new TextEncoder();

/**
 * RFC 2865 5.2: pads the password with zeros to a multiple of 16 (at most
 * 128 bytes) and XORs each block with MD5(secret | previous block), the
 * first previous block being the Request Authenticator.
 *
 * @throws {RangeError} If the password is over 128 bytes.
 */
export function hideUserPassword(
  password: string | Uint8Array,
  secret: Uint8Array,
  requestAuthenticator: Uint8Array,
): Uint8Array {
  const p = typeof password === "string" ? encoder.encode(password) : password;
  if (p.length > 128) {
    throw new RangeError("Cannot hide User-Password: it is longer than 128 bytes");
  }
  const out = new Uint8Array(Math.max(16, Math.ceil(p.length / 16) * 16));
  out.set(p);
  let previous = requestAuthenticator;
  for (let i = 0; i < out.length; i += 16) {
    const b = md5(secret, previous);
    for (let j = 0; j < 16; j++) out[i + j] = (out[i + j] ?? 0) ^ (b[j] ?? 0);
    previous = out.subarray(i, i + 16);
  }
  return out;
}

/**
 * The inverse of {@linkcode hideUserPassword}, trailing zero padding removed.
 *
 * @throws {ProtocolError} If the value is not 16..128 bytes in 16-byte steps.
 */
export function revealUserPassword(
  hidden: Uint8Array,
  secret: Uint8Array,
  requestAuthenticator: Uint8Array,
): Uint8Array {
  if (hidden.length < 16 || hidden.length > 128 || hidden.length % 16 !== 0) {
    throw new ProtocolError(
      "radius",
      ERROR_CODE.BAD_LENGTH,
      `Cannot reveal User-Password: ${hidden.length} bytes is not a multiple of 16 in 16..128`,
    );
  }
  const out = new Uint8Array(hidden.length);
  let previous = requestAuthenticator;
  for (let i = 0; i < hidden.length; i += 16) {
    const b = md5(secret, previous);
    for (let j = 0; j < 16; j++) out[i + j] = (hidden[i + j] ?? 0) ^ (b[j] ?? 0);
    previous = hidden.subarray(i, i + 16);
  }
  let end = out.length;
  while (end > 0 && out[end - 1] === 0) end--;
  return out.slice(0, end);
}

/**
 * RFC 2548 2.4.2: Salt(2, high bit set) | C, where P = KeyLength(1) | Key |
 * zero padding to 16, b(1) = MD5(S | R | Salt), b(i) = MD5(S | c(i-1)),
 * c(i) = p(i) XOR b(i). `R` is the Request Authenticator of the request this
 * reply answers.
 *
 * @throws {RangeError} If the salt's high bit is clear or the key is over 239 bytes.
 */
export function encryptMppeKey(
  key: Uint8Array,
  secret: Uint8Array,
  requestAuthenticator: Uint8Array,
  salt: Uint8Array,
): Uint8Array {
  if (salt.length !== 2 || ((salt[0] ?? 0) & 0x80) === 0) {
    throw new RangeError("Cannot encrypt MPPE key: the salt must be 2 bytes with the high bit set");
  }
  if (key.length > 239) throw new RangeError("Cannot encrypt MPPE key: key over 239 bytes");
  const plain = new Uint8Array(Math.ceil((key.length + 1) / 16) * 16);
  plain[0] = key.length;
  plain.set(key, 1);
  const out = new Uint8Array(2 + plain.length);
  out.set(salt);
  let b = md5(secret, requestAuthenticator, salt);
  for (let i = 0; i < plain.length; i += 16) {
    for (let j = 0; j < 16; j++) out[2 + i + j] = (plain[i + j] ?? 0) ^ (b[j] ?? 0);
    b = md5(secret, out.subarray(2 + i, 2 + i + 16));
  }
  return out;
}

/**
 * The inverse of {@linkcode encryptMppeKey}: checks the salt and lengths and
 * returns the key.
 *
 * @throws {ProtocolError} `BAD_VALUE`/`BAD_LENGTH` naming the fault.
 */
export function decryptMppeKey(
  value: Uint8Array,
  secret: Uint8Array,
  requestAuthenticator: Uint8Array,
): Uint8Array {
  const fail = (code: typeof ERROR_CODE.BAD_VALUE | typeof ERROR_CODE.BAD_LENGTH, why: string) =>
    new ProtocolError("radius", code, `Cannot decrypt MS-MPPE key: ${why}`);
  if (value.length < 18 || (value.length - 2) % 16 !== 0) {
    throw fail(ERROR_CODE.BAD_LENGTH, `${value.length} bytes is not 2 + a multiple of 16`);
  }
  const salt = value.subarray(0, 2);
  if (((salt[0] ?? 0) & 0x80) === 0) {
    throw fail(ERROR_CODE.BAD_VALUE, "the salt's high bit is clear");
  }
  const cipher = value.subarray(2);
  const plain = new Uint8Array(cipher.length);
  let b = md5(secret, requestAuthenticator, salt);
  for (let i = 0; i < cipher.length; i += 16) {
    for (let j = 0; j < 16; j++) plain[i + j] = (cipher[i + j] ?? 0) ^ (b[j] ?? 0);
    b = md5(secret, cipher.subarray(i, i + 16));
  }
  const length = plain[0] ?? 0;
  if (length + 1 > plain.length) {
    throw fail(
      ERROR_CODE.BAD_VALUE,
      `key length ${length} exceeds the ${plain.length - 1} bytes sent (wrong secret?)`,
    );
  }
  return plain.slice(1, 1 + length);
}
