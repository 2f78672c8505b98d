/**
 * The TLS policy properties of RouterOS's SSTP menus (`tls-version`, `pfs`,
 * `ciphers`, `force-aes`) turned into node:tls options plus a check of what
 * the handshake actually negotiated.
 *
 * Why the check: Deno's node:tls is backed by rustls. Measured with Deno
 * 2.9.6 and `openssl s_client`: `minVersion`/`maxVersion` are honoured, the
 * `ciphers` option is ignored, and the suites on offer are only AEAD ones
 * with ephemeral (EC)DHE key exchange: TLS 1.3 AES-256-GCM, AES-128-GCM,
 * ChaCha20-Poly1305; TLS 1.2 ECDHE with AES-GCM or ChaCha20-Poly1305. So
 * every session has forward secrecy, CBC suites such as RouterOS's
 * `aes256-sha` can never be negotiated, and a restricted `ciphers` list is
 * enforced after the handshake from `getCipher()`: a session on another
 * suite is closed with a message naming both.
 *
 * @module
 */
import type { TlsVersion } from "../config/values.ts";
import { ERROR_CODE, ProtocolError } from "../errors.ts";

/** RouterOS `pfs`: `yes` prefers forward secrecy, `required` refuses sessions without it. */
export const PFS_VALUES = ["no", "yes", "required"] as const;
/** One of {@linkcode PFS_VALUES}. */
export type Pfs = typeof PFS_VALUES[number];

/** Cipher names accepted in `ciphers` (RouterOS names plus ChaCha20 and AES-128-GCM). */
export const CIPHER_NAMES = [
  "aes256-sha",
  "aes256-gcm-sha384",
  "aes128-gcm-sha256",
  "chacha20-poly1305",
] as const;
/** One of {@linkcode CIPHER_NAMES}. */
export type CipherName = typeof CIPHER_NAMES[number];

/** The TLS policy of one side. */
export interface TlsPolicy {
  /** `tls-version`. */
  tlsVersion: TlsVersion;
  /** `pfs`. */
  pfs: Pfs;
  /** `ciphers`: allowed suites; empty = every suite the TLS stack offers. */
  ciphers: readonly CipherName[];
  /** `force-aes`: refuse sessions whose cipher is not AES. */
  forceAes: boolean;
}

/** The default policy: any version, every suite, forward secrecy preferred. */
export const DEFAULT_TLS_POLICY: TlsPolicy = {
  tlsVersion: "any",
  pfs: "yes",
  ciphers: [],
  forceAes: false,
};

/** Ciphers this TLS stack can negotiate at all (see the module comment). */
export const NEGOTIABLE_CIPHERS: readonly CipherName[] = [
  "aes256-gcm-sha384",
  "aes128-gcm-sha256",
  "chacha20-poly1305",
];

/** node:tls options that express the policy. */
export interface NodeTlsPolicyOptions {
  /** Lowest protocol version. */
  minVersion: "TLSv1.2" | "TLSv1.3";
  /** Highest protocol version. */
  maxVersion: "TLSv1.2" | "TLSv1.3";
  /** OpenSSL cipher list (honoured by OpenSSL-backed runtimes; Deno's rustls ignores it). */
  ciphers?: string;
}

/** OpenSSL names (TLS 1.2 suite names and TLS 1.3 suite names) per cipher. */
const OPENSSL_NAMES: Record<CipherName, string[]> = {
  "aes256-sha": ["ECDHE-RSA-AES256-SHA", "ECDHE-ECDSA-AES256-SHA", "AES256-SHA"],
  "aes256-gcm-sha384": [
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "TLS_AES_256_GCM_SHA384",
  ],
  "aes128-gcm-sha256": [
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "TLS_AES_128_GCM_SHA256",
  ],
  "chacha20-poly1305": [
    "ECDHE-RSA-CHACHA20-POLY1305",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
    "TLS_CHACHA20_POLY1305_SHA256",
  ],
};

/**
 * Checks a policy for settings this TLS stack cannot honour; returns the
 * problems as messages naming the property (empty when it is usable).
 */
export function tlsPolicyProblems(policy: TlsPolicy): string[] {
  const problems: string[] = [];
  const usable = allowedCiphers(policy).filter((c) => NEGOTIABLE_CIPHERS.includes(c));
  if (policy.ciphers.includes("aes256-sha") && policy.pfs === "required") {
    problems.push(
      "ciphers: aes256-sha without ECDHE has no forward secrecy, which pfs: required refuses",
    );
  }
  if (usable.length === 0) {
    problems.push(
      `ciphers: none of ${
        allowedCiphers(policy).join(", ") || "the listed ciphers"
      } can be negotiated by this TLS stack (it offers ${
        NEGOTIABLE_CIPHERS.join(", ")
      }; CBC suites such as aes256-sha are not available)`,
    );
  }
  return problems;
}

/** The ciphers a policy allows, after `force-aes`. */
export function allowedCiphers(policy: TlsPolicy): CipherName[] {
  const listed = policy.ciphers.length > 0 ? [...policy.ciphers] : [...NEGOTIABLE_CIPHERS];
  return policy.forceAes ? listed.filter((c) => c.startsWith("aes")) : listed;
}

/** The node:tls options for a policy. */
export function nodeTlsPolicyOptions(policy: TlsPolicy): NodeTlsPolicyOptions {
  const minVersion = policy.tlsVersion === "only-1.3" ? "TLSv1.3" : "TLSv1.2";
  const maxVersion = policy.tlsVersion === "only-1.2" ? "TLSv1.2" : "TLSv1.3";
  const out: NodeTlsPolicyOptions = { minVersion, maxVersion };
  if (policy.ciphers.length > 0 || policy.forceAes || policy.pfs === "required") {
    const names = allowedCiphers(policy).flatMap((c) => OPENSSL_NAMES[c])
      .filter((n) => policy.pfs !== "required" || n.startsWith("ECDHE") || n.startsWith("TLS_"));
    out.ciphers = names.join(":");
  }
  return out;
}

/** What `getCipher()` reports of a connection. */
export interface NegotiatedCipher {
  /** OpenSSL-style name, e.g. `ECDHE-RSA-AES256-GCM-SHA384` or `TLS_AES_256_GCM_SHA384`. */
  name: string;
  /** Protocol version, e.g. `TLSv1.2`. */
  version?: string;
}

/** Maps a negotiated suite to the policy's cipher name, or undefined when unknown. */
export function cipherNameOf(negotiated: NegotiatedCipher): CipherName | undefined {
  for (const [name, names] of Object.entries(OPENSSL_NAMES)) {
    if (names.includes(negotiated.name)) return name as CipherName;
  }
  return undefined;
}

/** True when the suite has ephemeral key exchange (every TLS 1.3 suite does). */
export function hasForwardSecrecy(negotiated: NegotiatedCipher): boolean {
  return negotiated.name.startsWith("TLS_") || negotiated.name.startsWith("ECDHE-") ||
    negotiated.name.startsWith("DHE-") || negotiated.version === "TLSv1.3";
}

/**
 * Checks what a handshake negotiated against the policy; returns why the
 * session must be refused, or undefined when it may go on.
 */
export function checkNegotiatedCipher(
  policy: TlsPolicy,
  negotiated: NegotiatedCipher,
): string | undefined {
  if (policy.pfs === "required" && !hasForwardSecrecy(negotiated)) {
    return `TLS suite ${negotiated.name} has no forward secrecy (pfs: required)`;
  }
  const restricted = policy.ciphers.length > 0 || policy.forceAes;
  if (!restricted) return undefined;
  const name = cipherNameOf(negotiated);
  const allowed = allowedCiphers(policy);
  if (name === undefined || !allowed.includes(name)) {
    return `TLS suite ${negotiated.name} is not allowed (ciphers: ${allowed.join(", ")}${
      policy.forceAes ? ", force-aes" : ""
    })`;
  }
  return undefined;
}

/** One line for `sstp status` `encoding`: `TLSv1.3 TLS_AES_256_GCM_SHA384 pfs`. */
export function describeNegotiated(negotiated: NegotiatedCipher): string {
  return [negotiated.version, negotiated.name, hasForwardSecrecy(negotiated) ? "pfs" : "no-pfs"]
    .filter((x) => x !== undefined).join(" ");
}

/**
 * The post-handshake check of a connection's TLS details (`TransportInfo`): why the session must be refused, or undefined (also when there is
 * no policy, or the TLS library reported no suite).
 */
export function tlsPolicyRefusal(
  policy: TlsPolicy | undefined,
  info: { tlsVersion?: string; cipher?: string },
): string | undefined {
  if (policy === undefined || info.cipher === undefined) return undefined;
  return checkNegotiatedCipher(policy, {
    name: info.cipher,
    ...(info.tlsVersion === undefined ? {} : { version: info.tlsVersion }),
  });
}

/**
 * `ProtocolError.detail` of a TLS session that cannot be had with the far
 * end because the two TLS policies do not meet: no common version, no
 * common suite, or a suite our policy refuses after the handshake. Retrying
 * cannot fix it: the client stops (a configuration error) instead of
 * reconnecting with backoff.
 */
export const TLS_POLICY_DETAIL = "TLS_POLICY";

/**
 * Recognises a handshake that failed because the two sides share no TLS
 * version or no cipher suite, and says so with what to change. Measured
 * with Deno 2.9.6's node:tls (rustls) against `openssl s_server`: a server
 * with only other versions sends a `protocol_version` alert
 * (`ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION`, "received fatal alert:
 * ProtocolVersion"); one with only suites this stack does not offer (CBC,
 * static RSA without forward secrecy) a `handshake_failure` alert
 * (`ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE`). Anything else: undefined.
 */
export function tlsAgreementFailure(
  error: unknown,
  where: string,
  o: { policy?: TlsPolicy; clientCertificate?: boolean } = {},
): ProtocolError | undefined {
  if (!(error instanceof Error)) return undefined;
  const code = (error as { code?: unknown }).code;
  const version = code === "ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION" ||
    /fatal alert: ?ProtocolVersion|alert protocol version/i.test(error.message);
  const suite = code === "ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE" ||
    /fatal alert: ?HandshakeFailure|alert handshake failure/i.test(error.message);
  if (!version && !suite) return undefined;
  const ours = o.policy?.tlsVersion ?? "any";
  const why = version
    ? `no TLS version both sides allow (tls-version here: ${ours}; this client speaks TLS 1.2 ` +
      "and 1.3): check tls-version on both sides"
    : "no cipher suite both sides allow: this client offers only ECDHE suites with AES-GCM or " +
      "ChaCha20-Poly1305 (forward secrecy); check the server's ciphers and pfs" +
      (o.clientCertificate ? ", or whether it refused the client certificate" : "");
  return new ProtocolError(
    "tls",
    ERROR_CODE.NEGOTIATION_FAILED,
    `Cannot agree on TLS with ${where}: ${why} (${error.message})`,
    { cause: error, detail: TLS_POLICY_DETAIL },
  );
}
