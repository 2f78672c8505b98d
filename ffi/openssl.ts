/**
 * The binding to the system OpenSSL 3 (`libssl.so.3`, `libcrypto.so.3`): the
 * second file allowed to call `Deno.dlopen` (besides `libc.ts`), because TLS
 * by OpenSSL is a library of its own. No cryptography is done here: OpenSSL
 * does the handshake, the records and the certificate checks; this file only
 * declares the C API it uses and turns its error queue into messages.
 *
 * Calling rules: every call is synchronous and runs on the JS thread. They are
 * only made on `O_NONBLOCK` sockets, so `SSL_read`, `SSL_write`,
 * `SSL_connect` and `SSL_accept` return at once with `SSL_ERROR_WANT_READ` or
 * `SSL_ERROR_WANT_WRITE` instead of blocking (see `openssl_conn.ts`).
 *
 * The libraries are opened lazily, once, and each function is bound on its
 * first call; {@linkcode openSsl} returns `undefined` (and
 * {@linkcode openSslUnavailableReason} says why) on a system without them or
 * with a version lacking one of the functions, so callers can fall back to the
 * runtime's TLS.
 *
 * @module
 */

/** `SSL_ERROR_*` of `<openssl/ssl.h>`. */
export const SSL_ERROR = {
  NONE: 0,
  SSL: 1,
  WANT_READ: 2,
  WANT_WRITE: 3,
  WANT_X509_LOOKUP: 4,
  SYSCALL: 5,
  ZERO_RETURN: 6,
} as const;

/** `SSL_CTRL_SET_MIN_PROTO_VERSION` / `MAX` (ssl.h). */
const SSL_CTRL_SET_MIN_PROTO_VERSION = 123;
const SSL_CTRL_SET_MAX_PROTO_VERSION = 124;
/** `SSL_CTRL_SET_TLSEXT_HOSTNAME` (ssl.h), `TLSEXT_NAMETYPE_host_name = 0` (tls1.h). */
const SSL_CTRL_SET_TLSEXT_HOSTNAME = 55;
/** `SSL_CTRL_MODE` (ssl.h). */
const SSL_CTRL_MODE = 33;
/** `SSL_CTRL_EXTRA_CHAIN_CERT` (ssl.h). */
const SSL_CTRL_EXTRA_CHAIN_CERT = 14;
/** `SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER` (ssl.h). */
const SSL_MODE_PARTIAL_AND_MOVING = 0x1 | 0x2;
/** `SSL_MODE_RELEASE_BUFFERS` (ssl.h): frees idle read/write buffers (memory per session). */
const SSL_MODE_RELEASE_BUFFERS = 0x10;
/**
 * `SSL_OP_IGNORE_UNEXPECTED_EOF` (1 << 7): a TCP close without close_notify
 * reads as EOF (as node:tls treats it; many SSTP peers just close), and
 * `SSL_OP_NO_RENEGOTIATION` (1 << 30) (ssl.h).
 */
const SSL_OPTIONS = (1n << 7n) | (1n << 30n);
/** `TLS1_2_VERSION`, `TLS1_3_VERSION` (prov/ssl.h). */
export const TLS1_2_VERSION = 0x0303;
/** `TLS1_3_VERSION`. */
export const TLS1_3_VERSION = 0x0304;
/** `SSL_VERIFY_NONE`, `SSL_VERIFY_PEER` (ssl.h). */
export const SSL_VERIFY_NONE = 0;
/** `SSL_VERIFY_PEER`. */
export const SSL_VERIFY_PEER = 1;
/** `SSL_VERIFY_FAIL_IF_NO_PEER_CERT` (server: no client certificate fails the handshake). */
export const SSL_VERIFY_FAIL_IF_NO_PEER_CERT = 2;
/** `X509_V_OK` (x509_vfy.h). */
export const X509_V_OK = 0;

/** libssl.so.3 functions, as Deno FFI declarations. */
export const SSL_SYMBOLS = {
  OPENSSL_init_ssl: { parameters: ["u64", "pointer"], result: "i32" },
  TLS_client_method: { parameters: [], result: "pointer" },
  TLS_server_method: { parameters: [], result: "pointer" },
  SSL_CTX_new: { parameters: ["pointer"], result: "pointer" },
  SSL_CTX_free: { parameters: ["pointer"], result: "void" },
  SSL_CTX_ctrl: { parameters: ["pointer", "i32", "i64", "pointer"], result: "i64" },
  SSL_CTX_set_options: { parameters: ["pointer", "u64"], result: "u64" },
  SSL_CTX_set_verify: { parameters: ["pointer", "i32", "pointer"], result: "void" },
  SSL_CTX_set_default_verify_paths: { parameters: ["pointer"], result: "i32" },
  SSL_CTX_get_cert_store: { parameters: ["pointer"], result: "pointer" },
  SSL_CTX_use_certificate: { parameters: ["pointer", "pointer"], result: "i32" },
  SSL_CTX_use_PrivateKey: { parameters: ["pointer", "pointer"], result: "i32" },
  SSL_CTX_check_private_key: { parameters: ["pointer"], result: "i32" },
  SSL_CTX_set_cipher_list: { parameters: ["pointer", "buffer"], result: "i32" },
  SSL_CTX_set_ciphersuites: { parameters: ["pointer", "buffer"], result: "i32" },
  SSL_new: { parameters: ["pointer"], result: "pointer" },
  SSL_free: { parameters: ["pointer"], result: "void" },
  SSL_set_fd: { parameters: ["pointer", "i32"], result: "i32" },
  SSL_set_bio: { parameters: ["pointer", "pointer", "pointer"], result: "void" },
  SSL_ctrl: { parameters: ["pointer", "i32", "i64", "buffer"], result: "i64" },
  SSL_connect: { parameters: ["pointer"], result: "i32" },
  SSL_accept: { parameters: ["pointer"], result: "i32" },
  SSL_read: { parameters: ["pointer", "buffer", "i32"], result: "i32" },
  SSL_write: { parameters: ["pointer", "buffer", "i32"], result: "i32" },
  SSL_get_error: { parameters: ["pointer", "i32"], result: "i32" },
  SSL_shutdown: { parameters: ["pointer"], result: "i32" },
  SSL_get1_peer_certificate: { parameters: ["pointer"], result: "pointer" },
  SSL_get_verify_result: { parameters: ["pointer"], result: "i64" },
  SSL_get_version: { parameters: ["pointer"], result: "pointer" },
  SSL_get_current_cipher: { parameters: ["pointer"], result: "pointer" },
  SSL_CIPHER_get_name: { parameters: ["pointer"], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

/** libcrypto.so.3 functions, as Deno FFI declarations. */
export const CRYPTO_SYMBOLS = {
  ERR_get_error: { parameters: [], result: "u64" },
  ERR_clear_error: { parameters: [], result: "void" },
  ERR_error_string_n: { parameters: ["u64", "buffer", "usize"], result: "void" },
  BIO_new_mem_buf: { parameters: ["buffer", "i32"], result: "pointer" },
  BIO_free: { parameters: ["pointer"], result: "i32" },
  BIO_s_mem: { parameters: [], result: "pointer" },
  BIO_new: { parameters: ["pointer"], result: "pointer" },
  BIO_write: { parameters: ["pointer", "buffer", "i32"], result: "i32" },
  BIO_read: { parameters: ["pointer", "buffer", "i32"], result: "i32" },
  BIO_ctrl_pending: { parameters: ["pointer"], result: "usize" },
  PEM_read_bio_X509: {
    parameters: ["pointer", "pointer", "pointer", "pointer"],
    result: "pointer",
  },
  PEM_read_bio_PrivateKey: {
    parameters: ["pointer", "pointer", "pointer", "pointer"],
    result: "pointer",
  },
  X509_free: { parameters: ["pointer"], result: "void" },
  EVP_PKEY_free: { parameters: ["pointer"], result: "void" },
  X509_STORE_add_cert: { parameters: ["pointer", "pointer"], result: "i32" },
  i2d_X509: { parameters: ["pointer", "buffer"], result: "i32" },
  X509_verify_cert_error_string: { parameters: ["i64"], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The OpenSSL symbols this project uses. */
export type OpenSslSymbols =
  & Deno.DynamicLibrary<typeof SSL_SYMBOLS>["symbols"]
  & Deno.DynamicLibrary<typeof CRYPTO_SYMBOLS>["symbols"];

/** One library's FFI declarations, as {@linkcode bindOpenSsl} takes them. */
export type SymbolTable = Readonly<Record<string, Deno.ForeignFunction>>;

/** What {@linkcode bindOpenSsl} opens: each library's file name and declarations. */
export interface OpenSslLibraries {
  /** libcrypto (opened first: libssl depends on it). */
  crypto: { path: string; symbols: SymbolTable };
  /** libssl. */
  ssl: { path: string; symbols: SymbolTable };
}

/** The system OpenSSL 3 with the declarations above. */
export const OPENSSL_LIBRARIES: OpenSslLibraries = {
  crypto: { path: "libcrypto.so.3", symbols: CRYPTO_SYMBOLS },
  ssl: { path: "libssl.so.3", symbols: SSL_SYMBOLS },
};

/** A symbol's name declared as a static: resolving it proves it exists, binds nothing. */
const PRESENCE = { type: "pointer" } as const satisfies Deno.ForeignStatic;

/**
 * Opens the libraries and checks that every declared name is there, then
 * returns the functions, each bound (`Deno.dlopen` of that one symbol) when
 * first read, as `libc.ts` does; or the reason they cannot be used.
 *
 * Why two steps: `Deno.dlopen` prepares a call trampoline per function
 * (binding all 48 took `openSsl()` a median 24 ms against 12 without them,
 * bench/README.md), and a client handshake uses 26 of them, a data-plane
 * Worker 8. The fallback to the runtime's TLS must still
 * be decided before the first connection, not at the first call of a missing
 * function, so all names are resolved up front in one `Deno.dlopen` per
 * library that declares them as statics (`dlsym` and an 8-byte read of the
 * function's first bytes, which ELF maps readable; the value is discarded):
 * that costs about as much as opening the library with nothing declared.
 *
 * @param libraries What to open; tests pass a table with a bogus name.
 */
export function bindOpenSsl(
  libraries: OpenSslLibraries = OPENSSL_LIBRARIES,
): { symbols: OpenSslSymbols } | { unavailable: string } {
  try {
    const lazy = {};
    for (const { path, symbols: table } of [libraries.crypto, libraries.ssl]) {
      const names = Object.keys(table);
      // Left open, as every binding is: closing it would unload the library.
      Deno.dlopen(path, Object.fromEntries(names.map((name) => [name, PRESENCE])));
      for (const name of names) defineLazySymbol(lazy, path, name, table[name]!);
    }
    const symbols = lazy as OpenSslSymbols;
    symbols.OPENSSL_init_ssl(0n, null);
    return { symbols };
  } catch (e) {
    return { unavailable: e instanceof Error ? e.message : String(e) };
  }
}

function defineLazySymbol(
  target: object,
  path: string,
  name: string,
  definition: Deno.ForeignFunction,
): void {
  Object.defineProperty(target, name, {
    configurable: true,
    enumerable: true,
    get() {
      const fn = Deno.dlopen(path, { [name]: definition }).symbols[name];
      Object.defineProperty(target, name, { value: fn, enumerable: true });
      return fn;
    },
  });
}

let symbols: OpenSslSymbols | undefined;
let unavailable: string | undefined;

/**
 * The OpenSSL symbols, opened on first use; `undefined` when `libssl.so.3`
 * or `libcrypto.so.3` cannot be opened or lacks a function this project
 * declares (see {@linkcode openSslUnavailableReason}). Functions are bound
 * on first call ({@linkcode bindOpenSsl}).
 */
export function openSsl(): OpenSslSymbols | undefined {
  if (symbols !== undefined || unavailable !== undefined) return symbols;
  const opened = bindOpenSsl();
  if ("symbols" in opened) symbols = opened.symbols;
  else unavailable = opened.unavailable;
  return symbols;
}

/** Why {@linkcode openSsl} returned `undefined`, once it has been called. */
export function openSslUnavailableReason(): string | undefined {
  return unavailable;
}

/** The OpenSSL symbols, or an error saying the library is missing. */
export function requireOpenSsl(): OpenSslSymbols {
  const s = openSsl();
  if (s === undefined) throw new Error(`Cannot use OpenSSL: ${unavailable}`);
  return s;
}

/** A failed OpenSSL call, with the library's error queue as text. */
export class OpenSslError extends Error {
  /** The `SSL_ERROR_*` code, when the failure came from `SSL_get_error`. */
  readonly sslError: number | undefined;
  /** `ERR_get_error()` codes, oldest first. */
  readonly codes: bigint[];

  /**
   * Builds the error from OpenSSL's error queue.
   *
   * @param action Std-style prefix: "Cannot complete TLS handshake".
   * @param call The failed call.
   * @param sslError The `SSL_ERROR_*` code, if any.
   */
  constructor(action: string, call: string, sslError?: number, codes: bigint[] = takeErrors()) {
    const texts = codes.map(errorString);
    super(`${action}: ${call} failed${texts.length > 0 ? ` (${texts.join("; ")})` : ""}`);
    this.name = "OpenSslError";
    this.sslError = sslError;
    this.codes = codes;
  }
}

/** Empties the thread's OpenSSL error queue, returning its codes oldest first. */
export function takeErrors(): bigint[] {
  const s = requireOpenSsl();
  const out: bigint[] = [];
  for (let i = 0; i < 16; i++) {
    const code = s.ERR_get_error();
    if (code === 0n) break;
    out.push(code);
  }
  s.ERR_clear_error();
  return out;
}

const errorBuffer = new Uint8Array(256);

/** `ERR_error_string_n` of one code. */
export function errorString(code: bigint): string {
  requireOpenSsl().ERR_error_string_n(code, errorBuffer, BigInt(errorBuffer.length));
  return cStringAt(errorBuffer);
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

function cStringAt(buffer: Uint8Array): string {
  const end = buffer.indexOf(0);
  return decoder.decode(buffer.subarray(0, end < 0 ? buffer.length : end));
}

/** The NUL-terminated string at `p` (empty for NULL). */
export function readCString(p: Deno.PointerValue): string {
  return p === null ? "" : Deno.UnsafePointerView.getCString(p);
}

/** A NUL-terminated copy of `s`. */
export function cString(s: string): Uint8Array<ArrayBuffer> {
  const bytes = encoder.encode(s);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

/** Runs `use` on a read-only memory BIO over `pem`, freeing it afterwards. */
function withPemBio<T>(pem: string, action: string, use: (bio: Deno.PointerObject) => T): T {
  const s = requireOpenSsl();
  const bytes = encoder.encode(pem);
  const bio = s.BIO_new_mem_buf(bytes, bytes.length);
  if (bio === null) throw new OpenSslError(action, "BIO_new_mem_buf");
  try {
    return use(bio);
  } finally {
    s.BIO_free(bio);
  }
}

/** Every `CERTIFICATE` of a PEM bundle as `X509*` (the caller frees them). */
function readCertificates(pem: string, action: string): Deno.PointerObject[] {
  const s = requireOpenSsl();
  return withPemBio(pem, action, (bio) => {
    const out: Deno.PointerObject[] = [];
    for (;;) {
      const x = s.PEM_read_bio_X509(bio, null, null, null);
      if (x === null) break;
      out.push(x);
    }
    // The loop ends on "no start line" at the end of the bundle: not an error.
    takeErrors();
    if (out.length === 0) throw new Error(`${action}: no CERTIFICATE in the PEM text`);
    return out;
  });
}

/** Options of {@linkcode SslContext}. */
export interface SslContextOptions {
  /** Client or server role. */
  role: "client" | "server";
  /** Lowest protocol version (default TLS 1.2). */
  minVersion?: "TLSv1.2" | "TLSv1.3";
  /** Highest protocol version (default: the library's highest). */
  maxVersion?: "TLSv1.2" | "TLSv1.3";
  /** Trusted CAs (PEM); with `verify` and no CAs the system's default paths are used. */
  caPem?: string;
  /** Ask OpenSSL to verify the peer's chain (result read with `verifyResult`; never fails the handshake). */
  verify?: boolean;
  /**
   * Server: ask for a client certificate chaining to `caPem` and fail the
   * handshake without one, or when it does not verify (`verify` implied).
   */
  requirePeerCertificate?: boolean;
  /** Own certificate chain (PEM, leaf first). */
  certPem?: string;
  /** Key of `certPem` (PEM). */
  keyPem?: string;
  /** OpenSSL cipher list for TLS 1.2 (`SSL_CTX_set_cipher_list`). */
  cipherList?: string;
  /** TLS 1.3 suites (`SSL_CTX_set_ciphersuites`). */
  cipherSuites?: string;
}

const VERSION_CODE = { "TLSv1.2": TLS1_2_VERSION, "TLSv1.3": TLS1_3_VERSION } as const;

/** An `SSL_CTX`: the settings shared by many connections. */
export class SslContext {
  /** The `SSL_CTX*`. */
  readonly pointer: Deno.PointerObject;
  /** The role the context was made for. */
  readonly role: "client" | "server";
  #freed = false;

  /**
   * Creates a client or server context with the given certificates and versions.
   *
   * @throws {OpenSslError | Error} when OpenSSL is missing or refuses a setting.
   */
  constructor(options: SslContextOptions) {
    const s = requireOpenSsl();
    const action = "Cannot create OpenSSL context";
    const method = options.role === "client" ? s.TLS_client_method() : s.TLS_server_method();
    const ctx = s.SSL_CTX_new(method);
    if (ctx === null) throw new OpenSslError(action, "SSL_CTX_new");
    this.pointer = ctx;
    this.role = options.role;
    try {
      this.#configure(options, action);
    } catch (e) {
      this.free();
      throw e;
    }
  }

  #configure(options: SslContextOptions, action: string): void {
    const s = requireOpenSsl();
    const ctx = this.pointer;
    const min = VERSION_CODE[options.minVersion ?? "TLSv1.2"];
    if (s.SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, BigInt(min), null) !== 1n) {
      throw new OpenSslError(action, "SSL_CTX_set_min_proto_version");
    }
    if (options.maxVersion !== undefined) {
      const max = VERSION_CODE[options.maxVersion];
      if (s.SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MAX_PROTO_VERSION, BigInt(max), null) !== 1n) {
        throw new OpenSslError(action, "SSL_CTX_set_max_proto_version");
      }
    }
    s.SSL_CTX_ctrl(ctx, SSL_CTRL_MODE, BigInt(SSL_MODE_RELEASE_BUFFERS), null);
    s.SSL_CTX_set_options(ctx, SSL_OPTIONS);
    if (options.cipherList !== undefined) {
      if (s.SSL_CTX_set_cipher_list(ctx, cString(options.cipherList)) !== 1) {
        throw new OpenSslError(action, `SSL_CTX_set_cipher_list("${options.cipherList}")`);
      }
    }
    if (options.cipherSuites !== undefined) {
      if (s.SSL_CTX_set_ciphersuites(ctx, cString(options.cipherSuites)) !== 1) {
        throw new OpenSslError(action, `SSL_CTX_set_ciphersuites("${options.cipherSuites}")`);
      }
    }
    // Verification result is read after the handshake (SSL_get_verify_result)
    // so that the caller words each failure itself: the handshake never fails
    // on it, except for a server that requires client certificates.
    if (options.requirePeerCertificate === true && options.caPem === undefined) {
      throw new TypeError(`${action}: requirePeerCertificate needs caPem`);
    }
    s.SSL_CTX_set_verify(
      ctx,
      options.requirePeerCertificate === true
        ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT
        : SSL_VERIFY_NONE,
      null,
    );
    if (options.verify === true || options.requirePeerCertificate === true) {
      if (options.caPem !== undefined) {
        const store = s.SSL_CTX_get_cert_store(ctx);
        for (const x of readCertificates(options.caPem, action)) {
          s.X509_STORE_add_cert(store, x);
          s.X509_free(x);
        }
        takeErrors(); // a duplicate certificate is reported on the queue, harmlessly
      } else if (s.SSL_CTX_set_default_verify_paths(ctx) !== 1) {
        throw new OpenSslError(action, "SSL_CTX_set_default_verify_paths");
      }
    }
    if ((options.certPem === undefined) !== (options.keyPem === undefined)) {
      throw new TypeError(`${action}: certPem and keyPem go together`);
    }
    if (options.certPem !== undefined && options.keyPem !== undefined) {
      const [leaf, ...chain] = readCertificates(options.certPem, action) as [
        Deno.PointerObject,
        ...Deno.PointerObject[],
      ];
      const ok = s.SSL_CTX_use_certificate(ctx, leaf);
      s.X509_free(leaf);
      if (ok !== 1) {
        for (const x of chain) s.X509_free(x);
        throw new OpenSslError(action, "SSL_CTX_use_certificate");
      }
      // SSL_CTX_add_extra_chain_cert takes ownership of each certificate.
      for (const x of chain) s.SSL_CTX_ctrl(ctx, SSL_CTRL_EXTRA_CHAIN_CERT, 0n, x);
      const key = withPemBio(
        options.keyPem,
        action,
        (bio) => s.PEM_read_bio_PrivateKey(bio, null, null, null),
      );
      if (key === null) throw new OpenSslError(action, "PEM_read_bio_PrivateKey");
      const used = s.SSL_CTX_use_PrivateKey(ctx, key);
      s.EVP_PKEY_free(key);
      if (used !== 1) throw new OpenSslError(action, "SSL_CTX_use_PrivateKey");
      if (s.SSL_CTX_check_private_key(ctx) !== 1) {
        throw new OpenSslError(action, "SSL_CTX_check_private_key");
      }
    }
  }

  /** Frees the context (connections made from it keep their own reference). */
  free(): void {
    if (this.#freed) return;
    this.#freed = true;
    requireOpenSsl().SSL_CTX_free(this.pointer);
  }
}

/** Sets SNI on a client `SSL*`. */
export function setServerName(ssl: Deno.PointerObject, name: string): void {
  const s = requireOpenSsl();
  if (s.SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, 0n, cString(name)) !== 1n) {
    throw new OpenSslError(`Cannot set SNI "${name}"`, "SSL_set_tlsext_host_name");
  }
}

/** Lets `SSL_write` return after a partial write and be retried with a moved buffer. */
export function setPartialWrites(ssl: Deno.PointerObject): void {
  requireOpenSsl().SSL_ctrl(ssl, SSL_CTRL_MODE, BigInt(SSL_MODE_PARTIAL_AND_MOVING), null);
}

/** DER of the peer's leaf certificate of this connection, if it sent one. */
export function peerCertificateDer(ssl: Deno.PointerObject): Uint8Array | undefined {
  const s = requireOpenSsl();
  const x = s.SSL_get1_peer_certificate(ssl);
  if (x === null) return undefined;
  try {
    const length = s.i2d_X509(x, null);
    if (length <= 0) throw new OpenSslError("Cannot encode peer certificate", "i2d_X509");
    const der = new Uint8Array(length);
    // i2d_X509 writes at *out and advances it: pass a pointer to our buffer's address.
    const out = new BigUint64Array([BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(der)))]);
    if (s.i2d_X509(x, new Uint8Array(out.buffer)) !== length) {
      throw new OpenSslError("Cannot encode peer certificate", "i2d_X509");
    }
    return der;
  } finally {
    s.X509_free(x);
  }
}

/** Negotiated version and cipher names (`"TLSv1.3"`, `"TLS_AES_256_GCM_SHA384"`). */
export function negotiated(ssl: Deno.PointerObject): { version: string; cipher: string } {
  const s = requireOpenSsl();
  return {
    version: readCString(s.SSL_get_version(ssl)),
    cipher: readCString(s.SSL_CIPHER_get_name(s.SSL_get_current_cipher(ssl))),
  };
}

/** `SSL_get_verify_result` with `X509_verify_cert_error_string`'s text. */
export function verifyResult(ssl: Deno.PointerObject): { code: number; text: string } {
  const s = requireOpenSsl();
  const code = s.SSL_get_verify_result(ssl);
  return { code: Number(code), text: readCString(s.X509_verify_cert_error_string(code)) };
}
