/**
 * Seed inputs for the fuzz targets, built at start-up: the byte fixtures of
 * `test/fixtures`, HTTP preambles, and the transcript of one clean client
 * and server session (MS-CHAPv2, IPCP, one IPv4 packet each way). The
 * engines of the stream targets use the same seeds as the recording, so an
 * unmutated transcript replays to a connected session and the mutations
 * start from deep states.
 *
 * @module
 */
import { createClientEngine } from "../../lib/tunnel/client_engine.ts";
import { createServerEngine } from "../../lib/tunnel/server_engine.ts";
import type { SessionEngine } from "../../lib/tunnel/session_engine.ts";
import { certHashes } from "../../lib/sstp/crypto_binding.ts";
import { encodeSstpPacket } from "../../lib/sstp/packet.ts";
import { buildSstpHttpRequest, buildSstpHttpResponse } from "../../lib/sstp/http_preamble.ts";
import { NOOP_LOGGER } from "../../lib/log.ts";
import { EngineHarness } from "../helpers/engine_harness.ts";
import { seededRandomBytes } from "../helpers/xorshift.ts";
import { readHexFixture, readHttpFixture, SSTP_FIXTURES } from "../helpers/sstp_builders.ts";
import { buildIcmpEcho } from "../helpers/icmp.ts";

const CERT = new TextEncoder().encode("fuzz certificate stand-in");
const PPP_FIXTURES = [
  "ppp_ipcp_confnak_softether.hex",
  "ppp_ipcp_confrej_softether_dns2.hex",
  "ppp_ipcp_confreq_client.hex",
  "ppp_ipcp_confreq_softether.hex",
  "ppp_ipv6cp_confreq.hex",
  "ppp_lcp_confrej_softether_magic.hex",
  "ppp_lcp_confreq_rras_server.hex",
  "ppp_lcp_confreq_softether_eap.hex",
  "ppp_lcp_confreq_softether_mschapv2.hex",
  "ppp_lcp_confreq_windows_client.hex",
  "ppp_lcp_echoreq_softether.hex",
  "ppp_lcp_protrej_ccp.hex",
];

/** Hello interval of the fuzzed engines. */
export const HELLO_MS = 20_000;

/** A client engine as the transcript was recorded (same seeds). */
export function fuzzClientEngine(): SessionEngine {
  return createClientEngine({
    certHashes: certHashes(CERT),
    user: "alice",
    password: "s3cret!",
    authentication: ["mschap2", "mschap1", "chap", "pap"],
    helloMs: HELLO_MS,
    randomBytes: seededRandomBytes(1),
    logger: NOOP_LOGGER,
  });
}

/** A server engine as the transcript was recorded (same seeds). */
export function fuzzServerEngine(): SessionEngine {
  return createServerEngine({
    certHashes: certHashes(CERT),
    authentication: ["mschap2", "mschap1", "chap", "pap"],
    lookupPassword: (u) => (u === "alice" ? "s3cret!" : undefined),
    assignAddresses: () => ({
      localAddress: "198.18.100.1",
      peerAddress: "198.18.100.2",
      dns: ["198.18.100.53"],
    }),
    serverName: "fuzz-server",
    helloMs: HELLO_MS,
    randomBytes: seededRandomBytes(2),
    logger: NOOP_LOGGER,
  });
}

/** Every seed input, by kind. */
export interface Corpus {
  /** Whole SSTP packets (control and data). */
  sstp: Uint8Array[];
  /** PPP frames (the payloads of SSTP data packets). */
  ppp: Uint8Array[];
  /** HTTP request and response headers. */
  http: Uint8Array[];
  /** What the client sent in the clean session, packet by packet. */
  clientTranscript: Uint8Array[];
  /** What the server sent in the clean session, packet by packet. */
  serverTranscript: Uint8Array[];
}

let cached: Corpus | undefined;

/** Builds (once) and returns the corpus. */
export function corpus(): Corpus {
  if (cached !== undefined) return cached;
  const h = new EngineHarness(fuzzClientEngine(), fuzzServerEngine());
  h.start();
  if (!h.runUntil(() => !!h.linkUp.client && !!h.linkUp.server, 10_000)) {
    throw new Error("Cannot build the fuzz corpus: the clean session did not come up");
  }
  h.sendIp("client", buildIcmpEcho("198.18.100.2", "198.18.100.1", { seq: 1 }));
  h.sendIp("server", buildIcmpEcho("198.18.100.1", "198.18.100.2", { reply: true }));
  h.runUntil(() => h.delivered.client.length > 0 && h.delivered.server.length > 0, 1000);
  h.close("client");
  h.runUntil(() => !!h.closed.client && !!h.closed.server, 60_000);
  const clientTranscript = h.sent.client.map((p) => encodeSstpPacket(p).slice());
  const serverTranscript = h.sent.server.map((p) => encodeSstpPacket(p).slice());
  const sstp = [
    ...SSTP_FIXTURES.map(readHexFixture),
    ...clientTranscript,
    ...serverTranscript,
  ];
  const ppp = [
    ...PPP_FIXTURES.map(readHexFixture),
    ...[...h.sent.client, ...h.sent.server].flatMap((p) => p.kind === "data" ? [p.data] : []),
  ];
  const http = [
    readHttpFixture("http_request.txt"),
    readHttpFixture("http_response.txt"),
    buildSstpHttpRequest({
      host: "vpn.example.net",
      correlationId: "{12345678-1234-1234-1234-123456789ABC}",
    }),
    buildSstpHttpResponse({ status: 200 }),
    new TextEncoder().encode("HTTP/1.1 200 Connection established\r\nProxy-agent: x\r\n\r\n"),
  ];
  cached = { sstp, ppp, http, clientTranscript, serverTranscript };
  return cached;
}
