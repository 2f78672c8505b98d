import assert from "node:assert/strict";
import { fromHex } from "../bytes/hex.ts";
import { ProtocolError } from "../errors.ts";
import { encodeProxyV2, parseProxyHeader } from "./proxy_protocol.ts";

const enc = new TextEncoder();

Deno.test("v1: the spec's examples parse, and the bytes after CRLF are left", () => {
  const line = "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n";
  const r = parseProxyHeader(enc.encode(line + "GET"), "any");
  assert.ok(r.done);
  assert.equal(r.length, line.length);
  assert.deepEqual(r.header, {
    version: 1,
    command: "proxy",
    source: { address: "192.168.0.1", port: 56324 },
    destination: { address: "192.168.0.11", port: 443 },
  });
  // The worst cases the spec sizes the 107-byte buffer for.
  const v4max = "PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n";
  assert.ok(parseProxyHeader(enc.encode(v4max), "v1").done);
  const f = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
  const v6max = `PROXY TCP6 ${f} ${f} 65535 65535\r\n`;
  assert.equal(v6max.length, 104);
  const r6 = parseProxyHeader(enc.encode(v6max), "v1");
  assert.ok(r6.done);
  assert.equal(r6.header.source?.address, f);
  const unknown = parseProxyHeader(enc.encode(`PROXY UNKNOWN ${f} ${f} 65535 65535\r\n`), "v1");
  assert.ok(unknown.done);
  assert.equal(unknown.header.command, "local");
  assert.equal(unknown.header.source, undefined);
  assert.ok(parseProxyHeader(enc.encode("PROXY UNKNOWN\r\n"), "v1").done);
});

Deno.test("v1: incomplete input asks for more, at every split point", () => {
  const line = enc.encode("PROXY TCP6 2001:2::1 2001:2::2 40000 443\r\n");
  for (let i = 0; i < line.length; i++) {
    assert.equal(parseProxyHeader(line.subarray(0, i), "any").done, false, `split ${i}`);
  }
  const r = parseProxyHeader(line, "any");
  assert.ok(r.done);
  assert.equal(r.header.source?.address, "2001:2::1");
});

Deno.test("v1: malformed lines are refused", () => {
  const bad = [
    "PROXY TCP4 192.168.0.256 192.168.0.11 56324 443\r\n",
    "PROXY TCP4 192.168.0.1 192.168.0.11 65536 443\r\n",
    "PROXY TCP4 192.168.0.1 192.168.0.11 056 443\r\n",
    "PROXY TCP4 2001:2::1 192.168.0.11 1 443\r\n",
    "PROXY TCP6 192.168.0.1 2001:2::2 1 443\r\n",
    "PROXY TCP4 192.168.0.1 192.168.0.11 1\r\n",
    "PROXY UDP4 192.168.0.1 192.168.0.11 1 2\r\n",
    "PROXY TCP4  192.168.0.1 192.168.0.11 1 2\r\n",
    "PROXY " + "x".repeat(120),
  ];
  for (const b of bad) {
    assert.throws(() => parseProxyHeader(enc.encode(b), "any"), ProtocolError, b);
  }
});

Deno.test("v2: TCP4, TCP6, LOCAL and UNSPEC; TLVs are skipped", () => {
  const v4 = encodeProxyV2({ address: "198.18.7.7", port: 50000 }, {
    address: "198.18.90.2",
    port: 443,
  });
  const r = parseProxyHeader(new Uint8Array([...v4, 0x16]), "v2");
  assert.ok(r.done);
  assert.equal(r.length, 28);
  assert.deepEqual(r.header.source, { address: "198.18.7.7", port: 50000 });
  assert.deepEqual(r.header.destination, { address: "198.18.90.2", port: 443 });
  const v6 = encodeProxyV2({ address: "2001:2::7", port: 1 }, { address: "2001:2::1", port: 443 });
  const r6 = parseProxyHeader(v6, "any");
  assert.ok(r6.done);
  assert.equal(r6.header.source?.address, "2001:2::7");
  // LOCAL command (health check) from HAProxy: signature, 0x20, 0x00, length 0.
  const local = fromHex("0d0a0d0a000d0a515549540a 20 00 0000");
  const rl = parseProxyHeader(local, "v2");
  assert.ok(rl.done);
  assert.equal(rl.header.command, "local");
  // UNSPEC family with the PROXY command: no usable address, treated as LOCAL.
  const unspec = parseProxyHeader(fromHex("0d0a0d0a000d0a515549540a 21 00 0000"), "v2");
  assert.ok(unspec.done);
  assert.equal(unspec.header.command, "local");
  // TCP4 with a 3-byte NOOP TLV (type 0x04) after the addresses.
  const withTlv = fromHex(
    "0d0a0d0a000d0a515549540a 21 11 000f c6120707 c6125a02 c350 01bb 04 0000",
  );
  const rt = parseProxyHeader(withTlv, "v2");
  assert.ok(rt.done);
  assert.equal(rt.length, withTlv.length);
  assert.equal(rt.header.source?.port, 50000);
  for (let i = 0; i < withTlv.length; i++) {
    assert.equal(parseProxyHeader(withTlv.subarray(0, i), "v2").done, false, `split ${i}`);
  }
});

Deno.test("v2: bad version, command, family and short blocks are refused", () => {
  const sig = "0d0a0d0a000d0a515549540a";
  for (const tail of ["11 11 000c", "22 11 000c", "21 12 000c", "21 11 0008", "21 21 000c"]) {
    const b = fromHex(sig + tail + "00".repeat(parseInt(tail.slice(-4), 16)));
    assert.throws(() => parseProxyHeader(b, "v2"), ProtocolError, tail);
  }
});

Deno.test("a header of the wrong version, or none, is refused at once", () => {
  const tls = fromHex("16 03 01 02 00 01");
  assert.throws(() => parseProxyHeader(tls, "any"), /does not start with a PROXY protocol/);
  assert.throws(() => parseProxyHeader(enc.encode("PROXY TCP4"), "v2"), /version 2/);
  const v2 = encodeProxyV2({ address: "198.18.0.1", port: 1 }, { address: "198.18.0.2", port: 2 });
  assert.throws(() => parseProxyHeader(v2, "v1"), /version 1/);
  // One byte is enough to know: a TLS record never starts with 0x0d or "P".
  assert.throws(() => parseProxyHeader(new Uint8Array([0x16]), "any"), ProtocolError);
  assert.equal(parseProxyHeader(new Uint8Array([0x0d]), "any").done, false);
});
