/**
 * The key audit: every key the server file (`sstp serve --config`) and the
 * client file/flags (`sstp connect`) accept either changes behaviour — and
 * names a test that exercises it — or is listed here as informational with
 * the reason. No property is silently ignored: a key added to a parser
 * without an entry here fails this test, and so does an entry for a key no
 * parser accepts any more.
 *
 * The README's property tables state the same for the RouterOS seed.
 *
 * @module
 */
import assert from "node:assert/strict";
import { ConfigError } from "../lib/config/config_error.ts";
import { parseServerConfig, SERVER_FILE_KEYS } from "../lib/config/server_config.ts";
import { BOOLEAN_KEYS, VALUE_KEYS } from "../lib/config/client_config.ts";

/**
 * A key that acts, and a test file that exercises it: the file must mention
 * the key (or its camelCase field), or `mentions` (the code that reads it).
 */
type Acts = { test: string; mentions?: string };
/** A key accepted for compatibility that changes nothing, and why. */
type Informational = { informational: string };
type Audit = Acts | Informational;

const CONFIG_TEST = "lib/config/server_config_test.ts";
const PROFILE_NETNS = "test/server_profile_netns_test.ts";
const CLIENT_OPTIONS = "lib/cli/connect_options_test.ts";
const COMMENT: Informational = { informational: "a note for the administrator (RouterOS comment)" };

/** Server file keys, as `section.key` (`.key` for the top level). */
const SERVER_AUDIT: Record<string, Audit> = {
  ".sstp-server": { test: CONFIG_TEST },
  ".ipv6-pools": { test: "test/client_fixture.ts" },
  "profiles.remote-ipv6-prefix-pool": { test: "test/ipv6_netns_test.ts" },
  "profiles.dhcpv6-pd-pool": { test: CONFIG_TEST },
  "profiles.local-ipv6-interface-id": { test: CONFIG_TEST },
  "sstp-server.pfs": { test: "test/server_tls_policy_netns_test.ts" },
  "sstp-server.ciphers": { test: "test/server_tls_policy_netns_test.ts" },
  "sstp-server.force-aes": { test: "test/server_tls_policy_netns_test.ts" },
  "profiles.bridge": { test: "test/bcp_bridge_netns_test.ts" },
  "profiles.bridge-path-cost": { test: "test/bcp_bridge_netns_test.ts" },
  "profiles.bridge-port-priority": { test: "test/bcp_bridge_netns_test.ts" },
  "profiles.bridge-horizon": { test: "test/bcp_bridge_netns_test.ts" },
  ".interfaces": { test: "test/server_traffic_netns_test.ts" },
  ".secrets": { test: "test/server_traffic_netns_test.ts" },
  ".profiles": { test: "test/server_limits_netns_test.ts" },
  ".pools": { test: "test/server_limits_netns_test.ts" },
  ".radius": { test: "test/server_radius_netns_test.ts" },
  ".ppp-aaa": { test: "test/helpers/freeradius.ts" },
  ".radius-incoming": { test: "test/helpers/freeradius.ts" },

  "sstp-server.enabled": { test: CONFIG_TEST },
  "sstp-server.port": { test: "test/server_fixture.ts" },
  "sstp-server.certificate": { test: "test/server_tls_netns_test.ts" },
  "sstp-server.certificate-key": { test: "test/server_tls_netns_test.ts" },
  "sstp-server.host-name": { test: "test/server_tls_netns_test.ts" },
  "sstp-server.authentication": { test: "test/server_auth_netns_test.ts" },
  "sstp-server.default-profile": { test: CONFIG_TEST },
  "sstp-server.keepalive-timeout": { test: "test/server_fixture.ts" },
  "sstp-server.max-mtu": { test: CONFIG_TEST },
  "sstp-server.max-mru": { test: CONFIG_TEST },
  "sstp-server.verify-client-certificate": { test: "test/server_tls_netns_test.ts" },
  "sstp-server.ca": { test: "test/server_tls_netns_test.ts" },
  "sstp-server.tls-version": { test: CONFIG_TEST },
  "sstp-server.listen": { test: "test/server_fixture.ts" },
  "sstp-server.state-dir": { test: PROFILE_NETNS },
  "sstp-server.control-socket": { test: "test/server_fixture.ts" },
  "sstp-server.max-sessions": { test: "test/server_limits_netns_test.ts" },
  "sstp-server.proxy-arp-interface": { test: "test/server_proxy_arp_netns_test.ts" },
  "sstp-server.proxy-protocol": { test: "test/scale_out_haproxy_netns_test.ts" },
  "sstp-server.proxy-protocol-from": { test: "test/scale_out_haproxy_netns_test.ts" },
  "sstp-server.tls": { test: "test/tls_offload_haproxy_netns_test.ts" },
  "sstp-server.certificate-hash-from": { test: "test/tls_offload_haproxy_netns_test.ts" },
  "sstp-server.link-up-timeout": { test: "test/server_session_test.ts" },
  "sstp-server.interface-mode": { test: "test/server_shared_tun_netns_test.ts" },
  "sstp-server.shared-interface": { test: "lib/config/interface_mode_test.ts" },
  "sstp-server.crypto-binding": { test: CONFIG_TEST },
  "sstp-server.auth-throttle": { test: "test/server_session_test.ts" },
  "sstp-server.auth-throttle-delay-after": { test: CONFIG_TEST },
  "sstp-server.auth-throttle-block-after": { test: CONFIG_TEST },
  "sstp-server.auth-throttle-block-time": { test: CONFIG_TEST },
  // Only `disabled` (the RouterOS default) is accepted; any size is refused.
  "sstp-server.mrru": { test: CONFIG_TEST },
  "sstp-server.max-handshakes": { test: "test/server_admission_netns_test.ts" },
  "sstp-server.max-handshakes-per-source": { test: "test/server_admission_netns_test.ts" },
  "sstp-server.max-unauthenticated": { test: "test/server_admission_netns_test.ts" },
  "sstp-server.max-unauthenticated-per-source": { test: "test/server_admission_netns_test.ts" },
  "sstp-server.authentication-deadline": { test: "test/server_admission_netns_test.ts" },
  "sstp-server.log-format": { test: "test/ops/metrics_status_netns_test.ts" },
  "sstp-server.metrics": { test: "test/ops/metrics_status_netns_test.ts" },
  "sstp-server.metrics-per-user": { test: "lib/ops/ops_test.ts" },
  "sstp-server.web-status": { test: "test/ops/metrics_status_netns_test.ts" },
  "sstp-server.web-status-auth-file": { test: "lib/ops/ops_test.ts", mentions: "parseAuthFile" },

  "secrets.name": { test: "test/server_traffic_netns_test.ts" },
  "secrets.password": { test: "test/server_auth_netns_test.ts" },
  "secrets.service": { test: PROFILE_NETNS },
  "secrets.profile": { test: "test/server_limits_netns_test.ts" },
  "secrets.local-address": { test: "test/server_traffic_netns_test.ts" },
  "secrets.remote-address": { test: "test/server_traffic_netns_test.ts" },
  "secrets.routes": { test: "test/server_traffic_netns_test.ts" },
  "secrets.disabled": { test: "lib/server/secrets_test.ts" },
  "secrets.caller-id": { test: PROFILE_NETNS },
  "secrets.limit-bytes-in": { test: PROFILE_NETNS },
  "secrets.limit-bytes-out": { test: PROFILE_NETNS },
  "secrets.comment": COMMENT,

  "profiles.name": { test: "test/server_limits_netns_test.ts" },
  "profiles.local-address": { test: "test/server_traffic_netns_test.ts" },
  "profiles.remote-address": { test: "test/server_traffic_netns_test.ts" },
  "profiles.dns-server": { test: "lib/server/secrets_test.ts" },
  "profiles.only-one": { test: "test/server_auth_netns_test.ts" },
  "profiles.session-timeout": { test: "test/server_limits_netns_test.ts" },
  "profiles.idle-timeout": { test: "test/server_limits_netns_test.ts" },
  "profiles.change-tcp-mss": { test: CONFIG_TEST },
  "profiles.use-encryption": {
    informational: "SSTP always runs PPP inside TLS, which encrypts it; PPP MPPE does not apply",
  },
  "profiles.rate-limit": { test: PROFILE_NETNS },
  "profiles.address-list": { test: PROFILE_NETNS },
  "profiles.on-up": { test: PROFILE_NETNS },
  "profiles.on-down": { test: PROFILE_NETNS },
  "profiles.comment": COMMENT,

  "pools.name": { test: "test/server_traffic_netns_test.ts" },
  "pools.ranges": { test: "lib/server/address_pool_test.ts" },
  "pools.next-pool": { test: CONFIG_TEST },
  "pools.comment": COMMENT,

  "interfaces.name": { test: "test/server_traffic_netns_test.ts" },
  "interfaces.user": { test: "test/server_traffic_netns_test.ts" },
  "interfaces.comment": COMMENT,

  "radius.address": { test: "test/server_radius_netns_test.ts" },
  "radius.secret": { test: "test/server_radius_netns_test.ts" },
  "radius.secret-file": { test: "lib/config/radius_config_test.ts" },
  "radius.service": { test: "lib/config/radius_config_test.ts" },
  "radius.authentication-port": { test: "test/helpers/freeradius.ts" },
  "radius.accounting-port": { test: "test/helpers/freeradius.ts" },
  "radius.timeout": { test: "lib/config/radius_config_test.ts" },
  "radius.src-address": { test: "lib/config/radius_config_test.ts" },
  "radius.require-message-auth": { test: "lib/config/radius_config_test.ts" },
  "radius.disabled": { test: "lib/config/radius_config_test.ts" },
  "radius.comment": COMMENT,
  "ppp-aaa.use-radius": { test: "test/helpers/freeradius.ts" },
  "ppp-aaa.accounting": { test: "test/server_radius_netns_test.ts" },
  "ppp-aaa.interim-update": { test: "lib/config/radius_config_test.ts" },
  "radius-incoming.accept": { test: "test/helpers/freeradius.ts" },
  "radius-incoming.port": { test: "lib/config/radius_config_test.ts" },
};

/**
 * Client keys (flags and file keys alike). Those whose only test is the
 * option mapping name that test: the option then drives the client session.
 */
const CLIENT_AUDIT: Record<string, Audit> = {
  bridge: { test: "test/bcp_bridge_netns_test.ts" },
  "use-ipv6": { test: "test/ipv6_netns_test.ts" },
  "dhcpv6-pd": { test: "test/client_dhcpv6_pd_netns_test.ts" },
  "dhcpv6-pd-interface": { test: "test/client_dhcpv6_pd_netns_test.ts" },
  "tls-engine": { test: CLIENT_OPTIONS },
  pfs: { test: "test/server_tls_policy_netns_test.ts" },
  ciphers: { test: "test/server_tls_policy_netns_test.ts" },
  "force-aes": { test: "test/tls_policy_openssl_test.ts" },
  mrru: { test: CLIENT_OPTIONS },
  "dial-on-demand": { test: "test/client_dial_on_demand_test.ts" },
  "dial-on-demand-address": { test: CLIENT_OPTIONS },
  "idle-timeout": { test: "test/client_dial_on_demand_test.ts" },
  profile: { test: CLIENT_OPTIONS },
  "kill-switch": { test: "test/client_kill_switch_test.ts" },
  "connect-to": { test: "test/client_softether_test.ts" },
  port: { test: "test/server_fixture.ts" },
  user: { test: "test/server_fixture.ts" },
  password: { test: "test/server_fixture.ts" },
  "password-file": { test: CLIENT_OPTIONS },
  authentication: { test: CLIENT_OPTIONS },
  ca: { test: "test/client_certificate_test.ts" },
  "server-fingerprint": { test: "test/server_proxy_arp_netns_test.ts" },
  certificate: { test: "test/client_certificate_test.ts" },
  "certificate-key": { test: CLIENT_OPTIONS },
  crl: { test: "test/client_certificate_test.ts" },
  "keepalive-timeout": { test: "test/client_softether_test.ts" },
  "max-mtu": { test: CLIENT_OPTIONS },
  "max-mru": { test: CLIENT_OPTIONS },
  "default-route-distance": { test: "test/client_routes_test.ts" },
  name: { test: "test/server_fixture.ts" },
  sni: { test: "lib/transport/tls_test.ts" },
  "tls-version": { test: CLIENT_OPTIONS },
  "log-level": { test: "test/client_softether_test.ts" },
  comment: { test: CLIENT_OPTIONS },
  "log-format": { test: "test/ops/metrics_status_netns_test.ts" },
  metrics: { test: "test/ops/unprivileged_netns_test.ts" },
  "http-proxy": { test: CLIENT_OPTIONS },
  "verify-server-certificate": { test: "test/client_tls_policy_test.ts" },
  "verify-server-address-from-certificate": { test: CLIENT_OPTIONS },
  "add-default-route": { test: "test/client_routes_test.ts" },
  "use-peer-dns": { test: "test/client_routes_test.ts" },
  reconnect: { test: "test/server_fixture.ts" },
  disabled: { test: CLIENT_OPTIONS },
};

function serverKeys(): string[] {
  return Object.entries(SERVER_FILE_KEYS).flatMap(([section, keys]) =>
    keys.map((k) => `${section}.${k}`)
  );
}

async function checkAudit(accepted: string[], audit: Record<string, Audit>, what: string) {
  const missing = accepted.filter((k) => !(k in audit));
  assert.deepEqual(missing, [], `${what} keys with no audit entry (test or informational)`);
  const stale = Object.keys(audit).filter((k) => !accepted.includes(k));
  assert.deepEqual(stale, [], `${what} audit entries for keys no parser accepts`);
  const problems: string[] = [];
  for (const [key, entry] of Object.entries(audit)) {
    if ("informational" in entry) {
      if (entry.informational.length < 10) problems.push(`${key}: say why it is informational`);
      continue;
    }
    const name = key.slice(key.lastIndexOf(".") + 1);
    const camel = name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    const text = await Deno.readTextFile(new URL(`../${entry.test}`, import.meta.url));
    const found = entry.mentions !== undefined
      ? text.includes(entry.mentions)
      : text.includes(name) || text.includes(camel);
    if (!found) {
      problems.push(`${key}: ${entry.test} does not mention "${name}"`);
    }
  }
  assert.deepEqual(problems, [], `${what} audit entries whose test does not exercise the key`);
}

Deno.test("key audit: every server file key acts (with a test) or is listed as informational", async () => {
  await checkAudit(serverKeys(), SERVER_AUDIT, "server");
});

Deno.test("key audit: every client key acts (with a test) or is listed as informational", async () => {
  await checkAudit([...VALUE_KEYS, ...BOOLEAN_KEYS], CLIENT_AUDIT, "client");
});

/** A file with one `key: x` in `section`, shaped as the section is. */
function probe(section: string, key: string): string {
  const base = "sstp-server:\n  certificate: /x.pem\n";
  if (section === "") return `${base}${key === "sstp-server" ? "" : `${key}: {}\n`}`;
  if (section === "sstp-server") return `${base}  ${key}: x\n`;
  if (section === "ppp-aaa" || section === "radius-incoming") {
    return `${base}${section}:\n  ${key}: x\n`;
  }
  return `${base}${section}:\n  - { ${key}: x }\n`;
}

function unknownKeyIssues(yaml: string): string[] {
  try {
    parseServerConfig(yaml, "audit.yaml");
    return [];
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return e.issues.map((i) => i.message).filter((m) => m.startsWith("unknown key"));
  }
}

Deno.test("key audit: the listed server keys are the ones the parser accepts", () => {
  for (const [section, keys] of Object.entries(SERVER_FILE_KEYS)) {
    for (const key of keys) {
      assert.deepEqual(unknownKeyIssues(probe(section, key)), [], `${section}.${key}`);
    }
    // The probe can fail: a key not in the list is reported.
    assert.equal(unknownKeyIssues(probe(section, "no-such-key")).length, 1, section);
  }
});
