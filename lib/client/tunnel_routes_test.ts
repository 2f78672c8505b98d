import assert from "node:assert/strict";
import { planTunnelRoutes, type TunnelRouteInput } from "./tunnel_routes.ts";

const BASE: TunnelRouteInput = {
  dev: "sstp-out1",
  addDefaultRoute: false,
  distance: 1,
  usePeerDns: false,
  dns: [],
  peerAddress: "198.18.61.1",
  server: "198.18.60.1",
  ipv6: false,
};

Deno.test("planTunnelRoutes() adds nothing without add-default-route and use-peer-dns", () => {
  const plan = planTunnelRoutes({ ...BASE, dns: ["198.18.61.53"] });
  assert.deepEqual(plan, {
    pinServer: false,
    routes: [],
    dnsServers: [],
    warnings: [],
    defaultRoute: "none",
  });
});

Deno.test("planTunnelRoutes() splits the IPv4 default route with the distance as metric", () => {
  const plan = planTunnelRoutes({ ...BASE, addDefaultRoute: true, distance: 7 });
  assert.equal(plan.pinServer, true);
  assert.deepEqual(plan.routes, [
    { dst: "0.0.0.0/1", dev: "sstp-out1", metric: 7 },
    { dst: "128.0.0.0/1", dev: "sstp-out1", metric: 7 },
  ]);
  assert.equal(plan.defaultRoute, "split 0.0.0.0/1+128.0.0.0/1 metric 7 via sstp-out1");
  assert.deepEqual(plan.warnings, []);
});

Deno.test("planTunnelRoutes() adds ::/1 and 8000::/1 when the tunnel carries IPv6", () => {
  const plan = planTunnelRoutes({ ...BASE, addDefaultRoute: true, distance: 3, ipv6: true });
  assert.deepEqual(plan.routes.map((r) => `${r.dst} ${r.dev} ${r.metric}`), [
    "0.0.0.0/1 sstp-out1 3",
    "128.0.0.0/1 sstp-out1 3",
    "::/1 sstp-out1 3",
    "8000::/1 sstp-out1 3",
  ]);
  assert.equal(
    plan.defaultRoute,
    "split 0.0.0.0/1+128.0.0.0/1 ::/1+8000::/1 metric 3 via sstp-out1",
  );
});

Deno.test("planTunnelRoutes() routes each peer DNS server through the tunnel, with or without the default route", () => {
  for (const addDefaultRoute of [false, true]) {
    const plan = planTunnelRoutes({
      ...BASE,
      addDefaultRoute,
      distance: 5,
      usePeerDns: true,
      dns: ["198.18.61.53", "198.18.62.53", "198.18.61.53"],
    });
    assert.deepEqual(plan.dnsServers, ["198.18.61.53", "198.18.62.53"]);
    const dnsRoutes = plan.routes.filter((r) => r.dst.endsWith("/32"));
    assert.deepEqual(dnsRoutes, [
      { dst: "198.18.61.53/32", dev: "sstp-out1", metric: 5 },
      { dst: "198.18.62.53/32", dev: "sstp-out1", metric: 5 },
    ]);
    assert.equal(plan.routes.length, addDefaultRoute ? 4 : 2);
    assert.equal(plan.pinServer, addDefaultRoute);
  }
});

Deno.test("planTunnelRoutes() needs no route to a DNS server that is the link's peer", () => {
  const plan = planTunnelRoutes({ ...BASE, usePeerDns: true, dns: ["198.18.61.1"] });
  assert.deepEqual(plan.dnsServers, ["198.18.61.1"]);
  assert.deepEqual(plan.routes, []);
});

Deno.test("planTunnelRoutes() leaves out DNS servers the tunnel cannot reach, and says why", () => {
  const plan = planTunnelRoutes({
    ...BASE,
    addDefaultRoute: true,
    usePeerDns: true,
    dns: ["198.18.60.1", "2001:2::53", "not-an-ip"],
  });
  assert.deepEqual(plan.dnsServers, []);
  assert.deepEqual(plan.routes.map((r) => r.dst), ["0.0.0.0/1", "128.0.0.0/1"]);
  assert.equal(plan.warnings.length, 4);
  assert.match(plan.warnings[0]!, /198\.18\.60\.1 is the SSTP server's own address/);
  assert.match(plan.warnings[1]!, /2001:2::53 is IPv6 and the tunnel carries no IPv6/);
  assert.match(plan.warnings[2]!, /"not-an-ip" is not an IP address/);
  assert.match(plan.warnings[3]!, /resolv\.conf is left alone/);
});

Deno.test("planTunnelRoutes() routes an IPv6 DNS server through a tunnel that carries IPv6", () => {
  const plan = planTunnelRoutes({ ...BASE, ipv6: true, usePeerDns: true, dns: ["2001:2::53"] });
  assert.deepEqual(plan.dnsServers, ["2001:2::53"]);
  assert.deepEqual(plan.routes, [{ dst: "2001:2::53/128", dev: "sstp-out1", metric: 1 }]);
});

Deno.test("planTunnelRoutes() refuses a distance that is no metric", () => {
  for (const distance of [-1, 1.5, 2 ** 32, Number.NaN]) {
    assert.throws(
      () => planTunnelRoutes({ ...BASE, addDefaultRoute: true, distance }),
      /Cannot plan routes: distance .* is out of range/,
    );
  }
});
