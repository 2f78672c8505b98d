import assert from "node:assert/strict";
import {
  checkInterfaceName,
  decodeIfreqFlags,
  decodeIfreqInt,
  decodeIfreqName,
  encodeIfreq,
  encodeIfreqInt,
  IFF_MULTI_QUEUE,
  IFF_NO_PI,
  IFF_TAP,
  IFF_TUN,
  IFREQ_SIZE,
  SIOCGIFFLAGS,
  SIOCSIFFLAGS,
  SIOCSIFMTU,
  SIOCSIFTXQLEN,
  TUNGETIFF,
  TUNSETIFF,
  TUNSETPERSIST,
} from "./ifreq.ts";

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");
}

Deno.test("ifreq ioctl numbers match <linux/if_tun.h> and <linux/sockios.h>", () => {
  // Values printed by a C program including <linux/if_tun.h> on x86_64.
  assert.equal(TUNSETIFF, 0x400454ca);
  assert.equal(TUNSETPERSIST, 0x400454cb);
  assert.equal(TUNGETIFF, 0x800454d2);
  assert.equal(SIOCGIFFLAGS, 0x8913);
  assert.equal(SIOCSIFFLAGS, 0x8914);
  assert.equal(SIOCSIFMTU, 0x8922);
  assert.equal(SIOCSIFTXQLEN, 0x8943);
  assert.deepEqual([IFF_TUN, IFF_TAP, IFF_MULTI_QUEUE, IFF_NO_PI], [0x1, 0x2, 0x100, 0x1000]);
});

Deno.test("encodeIfreq() lays out name[16] then ifr_flags little-endian in 40 bytes", () => {
  const req = encodeIfreq("sstp0", IFF_TUN | IFF_NO_PI);
  assert.equal(req.length, IFREQ_SIZE);
  assert.equal(
    hex(req),
    [
      "73 73 74 70 30 00 00 00 00 00 00 00 00 00 00 00", // "sstp0", NUL padded to IFNAMSIZ
      "01 10", // ifr_flags = IFF_TUN | IFF_NO_PI = 0x1001
      "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00", // rest of the union
    ].join(" "),
  );
  assert.equal(decodeIfreqName(req), "sstp0");
  assert.equal(decodeIfreqFlags(req), 0x1001);
});

Deno.test("encodeIfreqInt() stores a signed int at offset 16", () => {
  const req = encodeIfreqInt("tun0", 1400);
  assert.equal(hex(req.subarray(16, 20)), "78 05 00 00"); // 1400 = 0x578
  assert.equal(decodeIfreqInt(req), 1400);
  assert.equal(decodeIfreqInt(encodeIfreqInt("tun0", -1)), -1);
  assert.throws(() => encodeIfreqInt("tun0", 2 ** 31), RangeError);
  assert.throws(() => encodeIfreqInt("tun0", 1.5), RangeError);
});

Deno.test("decodeIfreqName() reads a full 15-byte name and stops at the first NUL", () => {
  const req = encodeIfreq("abcdefghijklmno", 0);
  assert.equal(decodeIfreqName(req), "abcdefghijklmno");
  assert.equal(req[15], 0);
  const noNul = new Uint8Array(IFREQ_SIZE).fill(0x61);
  assert.equal(decodeIfreqName(noNul), "a".repeat(16));
});

Deno.test("checkInterfaceName() accepts at most 15 bytes, counting UTF-8 bytes", () => {
  assert.equal(checkInterfaceName("a".repeat(15), "create TUN device").length, 15);
  assert.equal(checkInterfaceName("sstp%d", "create TUN device").length, 6);
  assert.throws(
    () => checkInterfaceName("tun-very-long-name", "create TUN device"),
    new RangeError('Cannot create TUN device "tun-very-long-name": name must be at most 15 bytes'),
  );
  // 8 characters, 16 bytes.
  assert.throws(() => checkInterfaceName("ü".repeat(8), "create TUN device"), RangeError);
  assert.equal(checkInterfaceName("ü".repeat(7), "create TUN device").length, 14);
});

Deno.test("checkInterfaceName() rejects what the kernel's dev_valid_name() rejects", () => {
  for (const bad of ["", ".", "..", "a/b", "a:b", "a b", "a\tb", "a\0b"]) {
    assert.throws(() => checkInterfaceName(bad, "create TUN device"), RangeError, bad);
  }
  assert.throws(() => encodeIfreq("a b", 0, "create TUN device"), {
    name: "RangeError",
    message: `Cannot create TUN device "a b": name must not contain '/', ':', NUL or whitespace`,
  });
});
