import assert from "node:assert/strict";
import { formatPppRoute, formatPppRoutes, isIpv6Route, parsePppRoute } from "./ppp_routes.ts";
import { InvalidValueError } from "./values.ts";

Deno.test("parsePppRoute() reads dst, optional gateway and optional distance", () => {
  const cases: Array<[string, ReturnType<typeof parsePppRoute>]> = [
    ["10.1.202.0/24 172.16.1.2 1", { dst: "10.1.202.0/24", gateway: "172.16.1.2", distance: 1 }],
    ["10.1.202.0/24 172.16.1.2", { dst: "10.1.202.0/24", gateway: "172.16.1.2", distance: 1 }],
    ["10.1.202.0/24", { dst: "10.1.202.0/24", gateway: undefined, distance: 1 }],
    ["10.1.202.0/24 7", { dst: "10.1.202.0/24", gateway: undefined, distance: 7 }],
    ["198.18.0.9", { dst: "198.18.0.9/32", gateway: undefined, distance: 1 }],
    ["  0.0.0.0/0   198.18.0.1   255 ", { dst: "0.0.0.0/0", gateway: "198.18.0.1", distance: 255 }],
  ];
  for (const [text, route] of cases) assert.deepEqual(parsePppRoute(text), route, text);
});

Deno.test("parsePppRoute() refuses malformed routes with a reason", () => {
  const cases: Array<[string, string]> = [
    ["", "a route needs a destination"],
    ["10.1.202.1/24", '"10.1.202.1/24" has host bits set (the prefix is 10.1.202.0/24)'],
    ["10.1.202.0/33", '"10.1.202.0/33" is not an IPv4 or IPv6 address or prefix'],
    ["10.1.202.0/24 gw", '"gw" is not a gateway address or a distance'],
    ["10.1.202.0/24 172.16.1.2 0", "distance 0 is out of range (1-255)"],
    ["10.1.202.0/24 172.16.1.2 256", "distance 256 is out of range (1-255)"],
    ["10.1.202.0/24 1 172.16.1.2", '"172.16.1.2" is not a distance'],
    [
      "10.1.202.0/24 172.16.1.2 1 2",
      '"10.1.202.0/24 172.16.1.2 1 2" is not a route: expected "dst-address [gateway] [distance]"',
    ],
  ];
  for (const [text, message] of cases) {
    assert.throws(
      () => parsePppRoute(text),
      (e) => e instanceof InvalidValueError && e.message === message,
      text,
    );
  }
});

Deno.test("formatPppRoute() writes RouterOS syntax that parses back", () => {
  for (const text of ["10.1.202.0/24 172.16.1.2 1", "198.19.0.0/16 3", "0.0.0.0/0 1"]) {
    assert.equal(formatPppRoute(parsePppRoute(text)), text);
  }
});

Deno.test("parsePppRoute() reads IPv6 routes: prefix, IPv6 gateway, distance", () => {
  const cases: Array<[string, ReturnType<typeof parsePppRoute>]> = [
    ["2001:2:5::/48", { dst: "2001:2:5::/48", gateway: undefined, distance: 1 }],
    ["2001:0002:0005:0::/48 fe80::1 3", { dst: "2001:2:5::/48", gateway: "fe80::1", distance: 3 }],
    ["2001:2:5::9", { dst: "2001:2:5::9/128", gateway: undefined, distance: 1 }],
    ["::/0 2", { dst: "::/0", gateway: undefined, distance: 2 }],
  ];
  for (const [text, route] of cases) {
    assert.deepEqual(parsePppRoute(text), route, text);
    assert.equal(isIpv6Route(route), true, text);
  }
  assert.equal(isIpv6Route(parsePppRoute("10.1.202.0/24")), false);
  assert.equal(formatPppRoute(parsePppRoute("2001:2:5::/48 fe80::1 3")), "2001:2:5::/48 fe80::1 3");
});

Deno.test("parsePppRoute() refuses malformed IPv6 routes with a reason", () => {
  const cases: Array<[string, string]> = [
    ["2001:2:5::1/48", '"2001:2:5::1/48" has host bits set (did you mean 2001:2:5::/48?)'],
    ["2001:2:5::/129", '"129" is not an IPv6 prefix length (0-128)'],
    ["2001:2:::/48", '"2001:2:::" is not an IPv6 address'],
    ["2001:2:5::/48 172.16.1.2", '"172.16.1.2" is not a gateway address or a distance'],
    ["2001:2:5::/48 fe80::1 0", "distance 0 is out of range (1-255)"],
  ];
  for (const [text, message] of cases) {
    assert.throws(
      () => parsePppRoute(text),
      (e) => e instanceof InvalidValueError && e.message === message,
      text,
    );
  }
});

Deno.test("formatPppRoutes() keeps IPv4 and IPv6 routes apart, in order", () => {
  const routes = [
    "2001:2:7::/48 :: 2",
    "198.18.77.0/24",
    "2001:2:0:100::/56",
    "198.18.78.0/24 0.0.0.0 7",
  ]
    .map(parsePppRoute);
  assert.deepEqual(formatPppRoutes(routes), {
    ipv4: ["198.18.77.0/24 1", "198.18.78.0/24 0.0.0.0 7"],
    ipv6: ["2001:2:7::/48 :: 2", "2001:2:0:100::/56 1"],
  });
  assert.deepEqual(formatPppRoutes([]), { ipv4: [], ipv6: [] });
});
