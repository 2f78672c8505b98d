import assert from "node:assert/strict";
import { formatHostPort, isHostName, parseHostPort } from "./host_port.ts";
import { InvalidValueError } from "./values.ts";

Deno.test("parseHostPort() reads names, IPv4 and IPv6 with optional ports", () => {
  const cases: Array<[string, ReturnType<typeof parseHostPort>]> = [
    ["vpn.example.com", { host: "vpn.example.com", port: undefined, kind: "name" }],
    ["VPN.Example.com.:8443", { host: "vpn.example.com", port: 8443, kind: "name" }],
    ["198.18.0.1", { host: "198.18.0.1", port: undefined, kind: "ipv4" }],
    ["198.18.0.1:443", { host: "198.18.0.1", port: 443, kind: "ipv4" }],
    ["[2001:db8::1]:444", { host: "2001:db8::1", port: 444, kind: "ipv6" }],
    ["[2001:DB8::1]", { host: "2001:db8::1", port: undefined, kind: "ipv6" }],
    ["2001:db8::1", { host: "2001:db8::1", port: undefined, kind: "ipv6" }],
    ["localhost", { host: "localhost", port: undefined, kind: "name" }],
  ];
  for (const [text, expected] of cases) assert.deepEqual(parseHostPort(text), expected, text);
});

Deno.test("parseHostPort() refuses malformed values with a reason", () => {
  const cases: Array<[string, string]> = [
    ["10.0.0.300", '"10.0.0.300" is not an IPv4 address'],
    ["host:0", "port 0 is out of range (1-65535)"],
    ["host:https", 'port "https" is not a whole number'],
    ["[2001:db8::1", '"[2001:db8::1" is not a valid [IPv6]:port'],
    ["[198.18.0.1]:443", '"[198.18.0.1]:443" is not a valid [IPv6]:port'],
    ["2001:db8::1::2", '"2001:db8::1::2" is not an IPv6 address'],
    ["bad host", '"bad host" is not a host name or IP address'],
    ["", '"" is not a host name or IP address'],
    ["-a.example", '"-a.example" is not a host name or IP address'],
  ];
  for (const [text, message] of cases) {
    assert.throws(
      () => parseHostPort(text),
      (e) => e instanceof InvalidValueError && e.message === message,
      text,
    );
  }
});

Deno.test("isHostName() limits labels to 63 and names to 253 characters", () => {
  assert.equal(isHostName("a".repeat(63) + ".example"), true);
  assert.equal(isHostName("a".repeat(64) + ".example"), false);
  assert.equal(isHostName(Array(64).fill("abc").join(".")), false);
  assert.equal(isHostName("1.2.3"), false);
});

Deno.test("formatHostPort() brackets IPv6", () => {
  assert.equal(formatHostPort("2001:db8::1", 443), "[2001:db8::1]:443");
  assert.equal(formatHostPort("vpn.example.com", 443), "vpn.example.com:443");
});
