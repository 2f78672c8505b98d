import assert from "node:assert/strict";
import fc from "fast-check";
import { x509 } from "./_x509.ts";
import { readLeafFields } from "./leaf_fields.ts";
import { certificateMatchesHost, certificateNames, hostMatchesNames } from "./names.ts";

const ALGORITHM = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
const KEYS = await crypto.subtle.generateKey(ALGORITHM, false, ["sign", "verify"]);

type CnValue = string | Record<string, string>;

interface Spec {
  cns: CnValue[][];
  dns: string[];
  ips: string[];
  ekus: string[] | undefined;
  notBefore: Date;
  notAfter: Date;
}

async function certificate(spec: Spec): Promise<Uint8Array<ArrayBuffer>> {
  const extensions: x509.Extension[] = [];
  const names = [
    ...spec.dns.map((value) => ({ type: "dns" as const, value })),
    ...spec.ips.map((value) => ({ type: "ip" as const, value })),
  ];
  if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names));
  if (spec.ekus !== undefined) extensions.push(new x509.ExtendedKeyUsageExtension(spec.ekus));
  const name = spec.cns.map((rdn) => ({
    "2.5.4.3": rdn,
    ...(rdn.length === 0 ? { O: ["x"] } : {}),
  }));
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "01",
    name: name as x509.JsonName,
    notBefore: spec.notBefore,
    notAfter: spec.notAfter,
    keys: KEYS,
    signingAlgorithm: ALGORITHM,
    extensions,
  });
  return new Uint8Array(cert.rawData);
}

const label = fc.stringMatching(/^(?:[a-zA-Z0-9-]{1,6}|\*|xn--[a-z0-9]{1,4})$/);
const dnsName = fc.array(label, { minLength: 1, maxLength: 4 }).chain((labels) =>
  fc.boolean().map((dot) => labels.join(".") + (dot ? "." : ""))
);
const ipv4 = fc.ipV4();
const ipv6 = fc.ipV6().filter((ip) => !ip.includes("."));
const cnValue: fc.Arbitrary<CnValue> = fc.oneof(
  dnsName,
  ipv4,
  ipv6,
  fc.string({ minLength: 1, maxLength: 12, unit: "grapheme" }),
  fc.record({ utf8String: fc.string({ maxLength: 10, unit: "grapheme" }) }),
  fc.record({ bmpString: fc.string({ maxLength: 10, unit: "binary-ascii" }) }),
  fc.record({ ia5String: dnsName }),
  fc.record({ printableString: dnsName }),
  fc.constantFrom("#0402abcd", "#020101"),
);
const date = fc.date({
  min: new Date("1950-01-01T00:00:00Z"),
  max: new Date("2200-01-01T00:00:00Z"),
})
  .filter((d) => !Number.isNaN(d.getTime()))
  .map((d) => new Date(Math.floor(d.getTime() / 1000) * 1000));
const spec: fc.Arbitrary<Spec> = fc.record({
  cns: fc.array(fc.array(cnValue, { maxLength: 2 }), { minLength: 1, maxLength: 3 }),
  dns: fc.array(dnsName, { maxLength: 3 }),
  ips: fc.array(fc.oneof(ipv4, ipv6), { maxLength: 2 }),
  ekus: fc.option(
    fc.uniqueArray(
      fc.constantFrom(
        "1.3.6.1.5.5.7.3.1",
        "1.3.6.1.5.5.7.3.2",
        "2.5.29.37.0",
        "1.3.6.1.4.1.311.10.3.3",
        "1.2.840.113549.1.1.1",
      ),
      { minLength: 1, maxLength: 3 },
    ),
    { nil: undefined },
  ),
  notBefore: date,
  notAfter: date,
});

/** Hosts to try against a certificate: its own names, variants of them, and others. */
function hostsFor(s: Spec): string[] {
  const own = [
    ...s.dns,
    ...s.ips,
    ...s.cns.flat().map((cn) => typeof cn === "string" ? cn : Object.values(cn)[0] ?? ""),
  ];
  const hosts = new Set<string>(["vpn.example", "10.0.0.1", "::1"]);
  for (const name of own) {
    hosts.add(name);
    hosts.add(name.toUpperCase());
    hosts.add(name.replace(/^\*\./, "gw."));
    hosts.add(name.replace(/^\*\./, "a.b."));
    hosts.add(name.replace(/^\*\./, ""));
    hosts.add(`${name}.`);
  }
  return [...hosts];
}

Deno.test("readLeafFields() agrees with @peculiar/x509 on names, dates and EKUs of generated certificates", async () => {
  let read = 0;
  let deferred = 0;
  await fc.assert(
    fc.asyncProperty(spec, async (s) => {
      const der = await certificate(s);
      const fields = readLeafFields(der);
      if (fields === undefined) {
        deferred++;
        // Only CN encodings outside the subset may be deferred.
        assert.ok(s.cns.flat().some((cn) => typeof cn === "string" && cn.startsWith("#")));
        return;
      }
      read++;
      const cert = new x509.X509Certificate(der);
      const names = certificateNames(der);
      assert.deepEqual(fields.dnsNames, names.dnsNames);
      assert.deepEqual(fields.ipAddresses, names.ipAddresses);
      assert.deepEqual(fields.commonNames, names.commonNames);
      assert.equal(fields.notBefore.getTime(), cert.notBefore.getTime());
      assert.equal(fields.notAfter.getTime(), cert.notAfter.getTime());
      const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
      assert.deepEqual(
        fields.extendedKeyUsages,
        eku === null ? undefined : Array.from(eku.usages, String),
      );
      for (const host of hostsFor(s)) {
        assert.equal(
          hostMatchesNames(fields, host),
          certificateMatchesHost(der, host),
          `host ${JSON.stringify(host)}`,
        );
      }
    }),
    { numRuns: 300 },
  );
  assert.ok(read > 200, `only ${read} of 300 certificates read (${deferred} deferred)`);
});

Deno.test("readLeafFields() returns undefined for what it does not read", () => {
  assert.equal(readLeafFields(new Uint8Array()), undefined);
  assert.equal(readLeafFields(new Uint8Array([0x30, 0x80, 0x00, 0x00])), undefined);
  assert.equal(readLeafFields(new Uint8Array([0x30, 0x03, 0x02, 0x01])), undefined);
});

Deno.test("readLeafFields() reads a certificate with trailing bytes as unsupported", async () => {
  const der = await certificate({
    cns: [["vpn.example"]],
    dns: ["vpn.example"],
    ips: [],
    ekus: ["1.3.6.1.5.5.7.3.1"],
    notBefore: new Date("2020-01-01T00:00:00Z"),
    notAfter: new Date("2060-01-01T00:00:00Z"),
  });
  const fields = readLeafFields(der);
  assert.deepEqual(fields?.extendedKeyUsages, ["1.3.6.1.5.5.7.3.1"]);
  assert.deepEqual(fields?.dnsNames, ["vpn.example"]);
  assert.equal(fields?.notAfter.toISOString(), "2060-01-01T00:00:00.000Z");
  assert.equal(readLeafFields(new Uint8Array([...der, 0])), undefined);
});
