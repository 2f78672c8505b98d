import assert from "node:assert/strict";
import { bindOpenSsl, openSsl, OPENSSL_LIBRARIES, type OpenSslLibraries } from "./openssl.ts";

const ignore = openSsl() === undefined;

function withExtraSslSymbol(name: string): OpenSslLibraries {
  return {
    crypto: OPENSSL_LIBRARIES.crypto,
    ssl: {
      path: OPENSSL_LIBRARIES.ssl.path,
      symbols: { ...OPENSSL_LIBRARIES.ssl.symbols, [name]: { parameters: [], result: "void" } },
    },
  };
}

Deno.test({
  name: "bindOpenSsl() reports a missing function up front, before any is called",
  ignore,
  fn() {
    const opened = bindOpenSsl(withExtraSslSymbol("SSL_no_such_function_in_any_version"));
    assert.ok("unavailable" in opened, "a missing symbol must make OpenSSL unavailable");
    assert.match(opened.unavailable, /SSL_no_such_function_in_any_version/);
  },
});

Deno.test({
  name: "bindOpenSsl() reports a missing library",
  ignore,
  fn() {
    const opened = bindOpenSsl({
      crypto: OPENSSL_LIBRARIES.crypto,
      ssl: { path: "libssl-missing-for-test.so.0", symbols: OPENSSL_LIBRARIES.ssl.symbols },
    });
    assert.ok("unavailable" in opened);
    assert.match(opened.unavailable, /libssl-missing-for-test\.so\.0/);
  },
});

Deno.test({
  name: "bindOpenSsl() binds each function on its first use",
  ignore,
  fn() {
    const opened = bindOpenSsl();
    assert.ok("symbols" in opened, "unavailable" in opened ? opened.unavailable : "");
    const s = opened.symbols;
    const before = Object.getOwnPropertyDescriptor(s, "TLS_server_method");
    assert.equal(typeof before?.get, "function", "not bound before its first use");
    assert.equal(Object.getOwnPropertyDescriptor(s, "OPENSSL_init_ssl")?.get, undefined);
    assert.notEqual(s.TLS_server_method(), null);
    const after = Object.getOwnPropertyDescriptor(s, "TLS_server_method");
    assert.equal(after?.get, undefined);
    assert.equal(typeof after?.value, "function", "bound once, then a plain property");
    assert.deepEqual(
      Object.keys(s).sort(),
      [
        ...Object.keys(OPENSSL_LIBRARIES.crypto.symbols),
        ...Object.keys(OPENSSL_LIBRARIES.ssl.symbols),
      ].sort(),
    );
  },
});
