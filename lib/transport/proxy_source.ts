/**
 * `proxy-protocol-from`: which peers may send a PROXY protocol header.
 * Pure.
 *
 * @module
 */
import { parseIpv4, prefixMask } from "../ip.ts";
import { ipv6PrefixContains, parseIpv6, parseIpv6Prefix } from "../ipv6/address.ts";

/** A compiled `proxy-protocol-from` list. */
export type TrustedSources = (address: string) => boolean;

/**
 * Compiles addresses and prefixes ("198.18.90.3", "198.18.91.0/24",
 * "2001:2::/48"); IPv4-mapped IPv6 peers ("::ffff:198.18.90.3") match
 * IPv4 entries.
 *
 * @throws {TypeError} For an entry that is neither.
 */
export function trustedSources(entries: readonly string[]): TrustedSources {
  const v4: { address: number; mask: number }[] = [];
  const v6: ReturnType<typeof parseIpv6Prefix>[] = [];
  for (const e of entries) {
    const [a, l] = e.split("/");
    const ip4 = parseIpv4(a ?? "");
    if (ip4 !== undefined) {
      const mask = prefixMask(l === undefined ? 32 : Number(l));
      v4.push({ address: (ip4 & mask) >>> 0, mask });
      continue;
    }
    const p = parseIpv6Prefix(l === undefined ? `${a}/128` : e);
    if (typeof p === "string") {
      throw new TypeError(`Cannot trust PROXY source "${e}": not an address or prefix`);
    }
    v6.push(p);
  }
  return (address: string) => {
    const plain = address.startsWith("::ffff:") && address.includes(".")
      ? address.slice(7)
      : address;
    const ip4 = parseIpv4(plain);
    if (ip4 !== undefined) return v4.some((n) => ((ip4 & n.mask) >>> 0) === n.address);
    const ip6 = parseIpv6(plain);
    if (ip6 === undefined) return false;
    return v6.some((p) => typeof p !== "string" && ipv6PrefixContains(p, ip6));
  };
}
