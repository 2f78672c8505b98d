/**
 * What kind of public key a certificate carries, and whether it is strong
 * enough: RSA moduli under {@linkcode MIN_RSA_BITS} are refused and under
 * {@linkcode RECOMMENDED_RSA_BITS} warned about; ECDSA is accepted with a
 * note that Windows 10 SSTP clients need an RSA server certificate over TLS
 * 1.2 (docs/interop.md#tls-versions-and-key-types).
 *
 * @module
 */

import { X509Certificate } from "node:crypto";
import { bufferSource, x509 } from "./_x509.ts";
import { MIN_RSA_BITS, RECOMMENDED_RSA_BITS } from "./_generate.ts";

export { MIN_RSA_BITS, RECOMMENDED_RSA_BITS };

/** A certificate's public key, as `sstp cert show` prints it. */
export interface PublicKeyInfo {
  /** `"RSA"`, `"ECDSA"`, `"Ed25519"`, `"Ed448"` or the SPKI algorithm OID when unknown. */
  type: string;
  /** Modulus length (RSA) or field size (ECDSA P-256 = 256, P-384 = 384, P-521 = 521). */
  bits: number;
  /** Named curve of an ECDSA key (`"P-256"`). */
  curve?: string;
}

const CURVE_BITS: Record<string, number> = { "P-256": 256, "P-384": 384, "P-521": 521 };

/** Reads the public key type and size of a DER certificate. */
export function certificateKeyInfo(certDer: Uint8Array): PublicKeyInfo {
  const cert = new x509.X509Certificate(bufferSource(certDer));
  let algorithm: Algorithm & { modulusLength?: number; namedCurve?: string };
  try {
    algorithm = cert.publicKey.algorithm;
  } catch {
    // @peculiar/x509 throws for algorithms it does not know (DSA, GOST, ...).
    const type = new X509Certificate(certDer).publicKey.asymmetricKeyType;
    return { type: (type ?? "unknown").toUpperCase(), bits: 0 };
  }
  if (algorithm.name.startsWith("RSA")) {
    return { type: "RSA", bits: algorithm.modulusLength ?? 0 };
  }
  if (algorithm.name === "ECDSA" || algorithm.name === "ECDH") {
    const curve = algorithm.namedCurve ?? "unknown";
    return { type: "ECDSA", bits: CURVE_BITS[curve] ?? 0, curve };
  }
  if (algorithm.name === "Ed25519") return { type: "Ed25519", bits: 256 };
  if (algorithm.name === "Ed448") return { type: "Ed448", bits: 456 };
  return { type: algorithm.name, bits: 0 };
}

/** Renders `RSA 2048 bits` or `ECDSA P-256`. */
export function formatKeyInfo(info: PublicKeyInfo): string {
  if (info.curve !== undefined) return `${info.type} ${info.curve}`;
  return info.bits > 0 ? `${info.type} ${info.bits} bits` : info.type;
}

/** Verdict on a key: `refuse` is set when it must not be used, `warnings` otherwise. */
export interface KeyStrength {
  /** Why the key is refused, if it is. */
  refuse?: string;
  /** Advice that does not stop use. */
  warnings: string[];
}

/**
 * Judges a server or client key.
 *
 * @example
 * ```ts
 * import { keyStrength } from "./key_info.ts";
 * if (keyStrength({ type: "RSA", bits: 384 }).refuse === undefined) throw new Error();
 * if (keyStrength({ type: "RSA", bits: 1024 }).warnings.length !== 1) throw new Error();
 * ```
 */
export function keyStrength(info: PublicKeyInfo): KeyStrength {
  const warnings: string[] = [];
  if (info.type === "RSA") {
    if (info.bits < MIN_RSA_BITS) {
      return {
        refuse: `RSA key of ${info.bits} bits is shorter than the ${MIN_RSA_BITS}-bit minimum`,
        warnings,
      };
    }
    if (info.bits < RECOMMENDED_RSA_BITS) {
      warnings.push(
        `RSA key of ${info.bits} bits is weak: use at least ${RECOMMENDED_RSA_BITS} bits`,
      );
    }
  } else if (info.type === "ECDSA") {
    if (info.bits === 0) {
      return { refuse: `ECDSA curve ${info.curve ?? "unknown"} is not supported`, warnings };
    }
  } else if (info.type !== "Ed25519" && info.type !== "Ed448") {
    return { refuse: `public key algorithm ${info.type} is not supported`, warnings };
  }
  return { warnings };
}
