/**
 * The source check of one server session over its life: the
 * {@linkcode SourceFilter} is made at link-up (the IPv4 address and routes
 * are known then), and the session's IPv6 prefixes join and leave it as they
 * are routed and released: the /64 its Router Advertisements give once IPV6CP
 * is open, a prefix DHCPv6-PD delegates later. A filter made again (IPCP
 * opening anew) starts with the IPv6 prefixes routed at that moment.
 *
 * @module
 */
import { SourceFilter } from "../tunnel/source_filter.ts";

/** Builds a session's source filter and keeps its IPv6 prefixes in step. */
export class SessionSources {
  #filter: SourceFilter | undefined;
  /** The IPv6 prefixes routed to the session now (one entry per follower that holds it). */
  readonly #ipv6: string[] = [];

  /**
   * The filter for the link coming up: IPv4 sources `peer` and `routes`,
   * and the IPv6 prefixes the session has now.
   *
   * @example
   * ```ts
   * import { SessionSources } from "./session_sources.ts";
   * const sources = new SessionSources();
   * const filter = sources.filterFor("198.18.5.2", []);
   * sources.follower()("2001:2:0:100::/64");
   * if (filter.ipv6Prefixes[0] !== "2001:2:0:100::/64") throw new Error();
   * ```
   * @throws {TypeError} when `peer` or a route is not an address or prefix.
   */
  filterFor(peer: string, routes: readonly string[]): SourceFilter {
    const filter = new SourceFilter(peer, routes);
    for (const p of this.#ipv6) filter.addIpv6Prefix(p);
    this.#filter = filter;
    return filter;
  }

  /** The IPv6 prefixes routed to the session now. */
  get ipv6Prefixes(): readonly string[] {
    return [...this.#ipv6];
  }

  /**
   * A follower of one of the session's IPv6 prefixes: call it with the
   * prefix once it is routed (sources inside it are allowed from then on)
   * and with `undefined` once it is released (they are dropped again). Each
   * follower only ever removes the prefix it added, so a late release from
   * an IPv6 link that went down cannot take a newer link's prefix away.
   */
  follower(): (prefix: string | undefined) => void {
    let current: string | undefined;
    return (prefix) => {
      if (current !== undefined) {
        this.#filter?.removeIpv6Prefix(current);
        const i = this.#ipv6.indexOf(current);
        if (i >= 0) this.#ipv6.splice(i, 1);
      }
      current = undefined;
      if (prefix !== undefined) {
        this.#filter?.addIpv6Prefix(prefix);
        this.#ipv6.push(prefix);
        current = prefix;
      }
    };
  }
}
