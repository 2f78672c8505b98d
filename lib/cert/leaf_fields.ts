/**
 * The few fields of a server's leaf certificate the client checks on every
 * connect (validity dates, extended key usages, SAN DNS/IP and subject CN),
 * read with a small DER walker so that `sstp connect` does not load
 * `@peculiar/x509` (about 350 ms of start-up, bench/README.md "Connect time").
 *
 * It reads only the plain, well-formed subset of X.509 and returns
 * `undefined` for anything else (indefinite or long-form tags, a time that is
 * not `…Z`, a CN that is neither UTF8String, PrintableString, IA5String,
 * TeletexString nor BMPString, invalid UTF-8, an iPAddress of another length
 * than 4, 8, 16 or 32 bytes, a repeated SAN or EKU extension): the caller then
 * uses the `@peculiar/x509` path (`names.ts`), so the answer never differs
 * from it. The values are decoded as `@peculiar/x509` decodes them (DNS names
 * and 8-bit strings byte for byte, DNS names lower-cased, CNs kept as they
 * are); names_test.ts compares the two over generated certificates.
 *
 * Why not `node:crypto`'s `X509Certificate` (measured in Deno 2.9.6): its
 * `keyUsage` is `undefined` even when the certificate has an EKU extension,
 * `checkHost()` is case-sensitive and matches the subject CN despite
 * `subject: "never"` and a SAN, and `subjectAltName` does not escape commas
 * inside DNS names.
 *
 * @module
 */

import type { CertificateNames } from "./_host_match.ts";

/** What {@linkcode readLeafFields} reads from a certificate. */
export interface LeafFields extends CertificateNames {
  /** Start of validity. */
  notBefore: Date;
  /** End of validity. */
  notAfter: Date;
  /** Extended key usage OIDs, or `undefined` when the extension is absent. */
  extendedKeyUsages: string[] | undefined;
}

/** A DER element: its tag byte and content. */
interface Element {
  tag: number;
  content: Uint8Array;
}

/** Thrown inside the walker for anything outside the subset; never escapes. */
class Unsupported extends Error {}

const SEQUENCE = 0x30;
const SET = 0x31;
const OID = 0x06;
const OCTET_STRING = 0x04;
const BOOLEAN = 0x01;

const OID_CN = "2.5.4.3";
const OID_SAN = "2.5.29.17";
const OID_EKU = "2.5.29.37";

/**
 * Reads dates, EKUs and names of a DER certificate, or returns `undefined`
 * when it is outside the subset this reader handles (see the module doc).
 *
 * @example
 * ```ts
 * import { readLeafFields } from "./leaf_fields.ts";
 * if (readLeafFields(new Uint8Array([0x30, 0x00])) !== undefined) throw new Error();
 * ```
 */
export function readLeafFields(certDer: Uint8Array): LeafFields | undefined {
  try {
    return read(certDer);
  } catch (error) {
    if (error instanceof Unsupported) return undefined;
    throw error;
  }
}

function read(der: Uint8Array): LeafFields {
  const [certificate] = elements(der, 1);
  const [tbs] = elements(expect(certificate, SEQUENCE), 3);
  const fields = elements(expect(tbs, SEQUENCE));
  let i = 0;
  if (fields[i]?.tag === 0xa0) i++; // [0] EXPLICIT version
  i += 2; // serialNumber, signature
  const issuer = fields[i++];
  const validity = fields[i++];
  const subject = fields[i++];
  const spki = fields[i++];
  if (issuer?.tag !== SEQUENCE || spki?.tag !== SEQUENCE) throw new Unsupported();
  const [notBefore, notAfter] = elements(expect(validity, SEQUENCE), 2);
  const result: LeafFields = {
    notBefore: time(notBefore),
    notAfter: time(notAfter),
    extendedKeyUsages: undefined,
    dnsNames: [],
    ipAddresses: [],
    commonNames: commonNames(expect(subject, SEQUENCE)),
  };
  let sawSan = false;
  for (; i < fields.length; i++) {
    const field = fields[i];
    if (field?.tag !== 0xa3) continue; // [1], [2] unique identifiers
    const [extensions] = elements(field.content, 1);
    for (const extension of elements(expect(extensions, SEQUENCE))) {
      const parts = elements(expect(extension, SEQUENCE));
      const id = oid(expect(parts[0], OID));
      const critical = parts.length === 3 ? parts[1] : undefined;
      if (critical !== undefined) expect(critical, BOOLEAN);
      const value = expect(parts[parts.length - 1], OCTET_STRING);
      if (parts.length !== 2 && parts.length !== 3) throw new Unsupported();
      if (id === OID_SAN) {
        if (sawSan) throw new Unsupported();
        sawSan = true;
        readSan(value, result);
      } else if (id === OID_EKU) {
        if (result.extendedKeyUsages !== undefined) throw new Unsupported();
        const [list] = elements(value, 1);
        result.extendedKeyUsages = elements(expect(list, SEQUENCE)).map((e) => oid(expect(e, OID)));
      }
    }
  }
  return result;
}

function readSan(value: Uint8Array, out: LeafFields): void {
  const [list] = elements(value, 1);
  for (const name of elements(expect(list, SEQUENCE))) {
    if (name.tag === 0x82) { // [2] dNSName, IA5String
      out.dnsNames.push(latin1(name.content).toLowerCase());
    } else if (name.tag === 0x87) { // [7] iPAddress
      const length = name.content.length;
      if (length === 4 || length === 16) out.ipAddresses.push(name.content.slice());
      // 8 and 32 bytes are address/mask pairs: not an address, skipped as names.ts does.
      else if (length !== 8 && length !== 32) throw new Unsupported();
    }
  }
}

function commonNames(subject: Uint8Array): string[] {
  const names: string[] = [];
  for (const rdn of elements(subject)) {
    for (const attribute of elements(expect(rdn, SET))) {
      const [type, value] = elements(expect(attribute, SEQUENCE), 2);
      if (oid(expect(type, OID)) === OID_CN && value !== undefined) {
        names.push(directoryString(value));
      }
    }
  }
  return names;
}

const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function directoryString(value: Element): string {
  switch (value.tag) {
    case 0x0c: // UTF8String
      try {
        return UTF8.decode(value.content);
      } catch {
        throw new Unsupported();
      }
    case 0x13: // PrintableString
    case 0x14: // TeletexString
    case 0x16: // IA5String
      return latin1(value.content);
    case 0x1e: { // BMPString (UCS-2, big-endian)
      const bytes = value.content;
      if (bytes.length % 2 !== 0) throw new Unsupported();
      let text = "";
      for (let i = 0; i < bytes.length; i += 2) {
        text += String.fromCharCode(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
      }
      return text;
    }
    default:
      throw new Unsupported();
  }
}

function latin1(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return text;
}

function time(element: Element | undefined): Date {
  const text = latin1(expect(element, element?.tag === 0x18 ? 0x18 : 0x17));
  const match = element?.tag === 0x17
    ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text)
    : /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (match === null) throw new Unsupported();
  const [, y = "", mo = "", d = "", h = "", mi = "", s = ""] = match;
  let year = Number(y);
  if (y.length === 2) year += year >= 50 ? 1900 : 2000; // RFC 5280 4.1.2.5.1
  const ms = Date.UTC(year, Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  const date = new Date(ms);
  // Reject out-of-range fields that Date.UTC would silently carry over.
  if (
    date.getUTCMonth() !== Number(mo) - 1 || date.getUTCDate() !== Number(d) ||
    date.getUTCHours() !== Number(h) || date.getUTCMinutes() !== Number(mi) ||
    date.getUTCSeconds() !== Number(s)
  ) {
    throw new Unsupported();
  }
  return date;
}

function oid(content: Uint8Array): string {
  const arcs: number[] = [];
  let value = 0;
  let digits = 0;
  for (const byte of content) {
    if (digits === 0 && byte === 0x80) throw new Unsupported(); // non-minimal
    value = value * 128 + (byte & 0x7f);
    digits++;
    if (digits > 7) throw new Unsupported();
    if ((byte & 0x80) === 0) {
      arcs.push(value);
      value = 0;
      digits = 0;
    }
  }
  const first = arcs[0];
  if (digits !== 0 || first === undefined) throw new Unsupported();
  const top = Math.min(Math.floor(first / 40), 2);
  return [top, first - top * 40, ...arcs.slice(1)].join(".");
}

function expect(element: Element | undefined, tag: number): Uint8Array {
  if (element === undefined || element.tag !== tag) throw new Unsupported();
  return element.content;
}

/** Splits `bytes` into DER elements; with `count`, exactly that many must follow. */
function elements(bytes: Uint8Array, count?: number): Element[] {
  const out: Element[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const tag = bytes[offset++] ?? 0;
    if ((tag & 0x1f) === 0x1f) throw new Unsupported(); // high tag number form
    const first = bytes[offset++];
    if (first === undefined || first === 0x80) throw new Unsupported(); // indefinite length
    let length = first;
    if (first > 0x80) {
      const size = first & 0x7f;
      if (size > 4) throw new Unsupported();
      length = 0;
      for (let i = 0; i < size; i++) {
        const b = bytes[offset++];
        if (b === undefined) throw new Unsupported();
        length = length * 256 + b;
      }
      if (length < 0x80 || (size > 1 && length < 1 << (8 * (size - 1)))) {
        throw new Unsupported(); // not the shortest length form
      }
    }
    if (offset + length > bytes.length) throw new Unsupported();
    out.push({ tag, content: bytes.subarray(offset, offset + length) });
    offset += length;
  }
  if (count !== undefined && out.length < count) throw new Unsupported();
  if (count === 1 && out.length !== 1) throw new Unsupported();
  return out;
}
