/**
 * Builds the {@linkcode AuthPeer} (client side) for an authentication
 * method. The authenticator (server) side is `create_auth.ts`, which the
 * server injects into its PPP link: with it come the RADIUS fallback and the
 * EAP relay, code `sstp connect` never runs and should not load at start-up.
 *
 * @module
 */
import type { AuthMethod, AuthPeer, RandomBytes } from "./auth_types.ts";
import { PapPeer } from "./pap.ts";
import { ChapPeer } from "./chap.ts";
import { chapMd5PeerAlgorithm } from "./chap_md5.ts";
import { msChapV1PeerAlgorithm } from "./mschap_v1.ts";
import { msChapV2PeerAlgorithm } from "./mschap_v2.ts";
import { EapPeer } from "./eap.ts";

/** Options of {@linkcode createAuthPeer}. */
export interface AuthPeerOptions {
  /** Our user name. */
  user: string;
  /** Our password. */
  password: string;
  /** Randomness (the MS-CHAPv2 peer challenge). */
  randomBytes: RandomBytes;
}

/**
 * Creates the peer (client) side of `method`.
 *
 * @throws {RangeError} For PAP, if the user name or password exceeds 255 bytes.
 *
 * @example
 * ```ts
 * import { createAuthPeer } from "./create_auth_peer.ts";
 * const peer = createAuthPeer("pap", { user: "u", password: "p", randomBytes: (n) => new Uint8Array(n) });
 * if (peer.protocol !== 0xc023 || peer.start(0).send.length !== 1) throw new Error();
 * ```
 */
export function createAuthPeer(method: AuthMethod, options: AuthPeerOptions): AuthPeer {
  const { user, password, randomBytes } = options;
  switch (method) {
    case "pap":
      return new PapPeer({ user, password });
    case "chap":
      return new ChapPeer(chapMd5PeerAlgorithm(user, password));
    case "mschap1":
      return new ChapPeer(msChapV1PeerAlgorithm(user, password));
    case "mschap2":
      return new ChapPeer(msChapV2PeerAlgorithm({ user, password, randomBytes }));
    case "eap-mschap2":
      return new EapPeer(msChapV2PeerAlgorithm({ user, password, randomBytes }), {
        identity: user,
      });
  }
}
