/**
 * Builds the {@linkcode AuthAuthenticator} (server side) for an
 * authentication method, with the RADIUS fallback and the EAP relay when
 * asked; the server injects it into its PPP link (`createAuthenticator`).
 * The peer (client) side is `create_auth_peer.ts`, re-exported here.
 *
 * | method    | protocol | HLAK in the result                         |
 * |-----------|----------|--------------------------------------------|
 * | `pap`     | 0xc023   | 32 zero bytes                               |
 * | `chap`    | 0xc223   | 32 zero bytes                               |
 * | `mschap1` | 0xc223   | 32 zero bytes                               |
 * | `mschap2` | 0xc223   | RFC 3079 master keys in MS-SSTP role order  |
 * | `eap-mschap2` | 0xc227 | first 32 bytes of the MSK (the same keys) |
 *
 * @module
 */
import type { AuthAuthenticator, AuthMethod, PasswordLookup, RandomBytes } from "./auth_types.ts";
import { PapAuthenticator } from "./pap.ts";
import { ChapAuthenticator } from "./chap.ts";
import { chapMd5AuthenticatorAlgorithm } from "./chap_md5.ts";
import { msChapV1AuthenticatorAlgorithm } from "./mschap_v1.ts";
import { msChapV2AuthenticatorAlgorithm } from "./mschap_v2.ts";
import { type RemoteAuthenticate, RemoteFallbackAuthenticator } from "./remote_auth.ts";
import { EapAuthenticator } from "./eap.ts";
import { EapRelayAuthenticator, type RemoteEap } from "./eap_relay.ts";
import type { ChapAuthenticatorAlgorithm } from "./chap.ts";
import { rejectionDetail } from "./_credentials.ts";
import { quotePeerText } from "../../peer_text.ts";
import { ERROR_CODE, ProtocolError } from "../../errors.ts";

export { type AuthPeerOptions, createAuthPeer } from "./create_auth_peer.ts";

/** Options of {@linkcode createAuthAuthenticator}. */
export interface AuthAuthenticatorOptions {
  /** Finds a user's password. */
  lookupPassword: PasswordLookup;
  /** Randomness (CHAP identifier and challenges). */
  randomBytes: RandomBytes;
  /** Our name in CHAP Challenges (the server's host name). */
  name: string;
  /** Asked about users `lookupPassword` does not know (RADIUS); local secrets come first. */
  remote?: RemoteAuthenticate;
  /** EAP of users `lookupPassword` does not know is relayed to it (RADIUS, RFC 3579). */
  remoteEap?: RemoteEap;
}

/**
 * Creates the authenticator (server) side of `method`.
 *
 * @example
 * ```ts
 * import { createAuthAuthenticator } from "./create_auth.ts";
 * const a = createAuthAuthenticator("mschap2", {
 *   lookupPassword: () => undefined,
 *   randomBytes: (n) => new Uint8Array(n),
 *   name: "vpn",
 * });
 * if (a.protocol !== 0xc223 || a.start(0).send.length !== 1) throw new Error();
 * ```
 */
export function createAuthAuthenticator(
  method: AuthMethod,
  options: AuthAuthenticatorOptions,
): AuthAuthenticator {
  const remote = options.remote;
  if (method === "eap-mschap2") {
    const algorithm = msChapV2AuthenticatorAlgorithm({
      lookupPassword: options.lookupPassword,
      randomBytes: options.randomBytes,
    });
    const eapOptions = { name: options.name, randomBytes: options.randomBytes };
    if (options.remoteEap !== undefined) {
      return new EapRelayAuthenticator(new EapAuthenticator(algorithm, eapOptions), {
        lookupPassword: options.lookupPassword,
        remote: options.remoteEap,
      });
    }
    return new EapAuthenticator(
      remote === undefined ? algorithm : localUsersOnly(algorithm),
      eapOptions,
    );
  }
  const local = createLocalAuthenticator(method, options);
  if (remote === undefined) return local;
  // From here on `method` is PAP or a CHAP method.
  return new RemoteFallbackAuthenticator(local, {
    method,
    lookupPassword: options.lookupPassword,
    remote,
    randomBytes: options.randomBytes,
  });
}

/**
 * EAP-MSCHAPv2 without `remoteEap` checks local secrets only (a RADIUS
 * service for PAP/CHAP without the EAP relay): a user unknown locally fails
 * as a wrong password would toward the peer, but the log says why.
 */
function localUsersOnly(algorithm: ChapAuthenticatorAlgorithm): ChapAuthenticatorAlgorithm {
  const unknownUser = rejectionDetail({ user: "", password: "", isKnown: false });
  return {
    label: algorithm.label,
    challengeLength: algorithm.challengeLength,
    verify(identifier, challenge, response) {
      const verdict = algorithm.verify(identifier, challenge, response);
      if (verdict.ok || verdict.error.detail !== unknownUser) return verdict;
      return {
        ...verdict,
        error: new ProtocolError(
          "auth",
          ERROR_CODE.AUTH_FAILED,
          `Authentication failed: user ${
            quotePeerText(response.name)
          } is not in the local secrets, and eap-mschap2 is checked against local secrets only (RADIUS users need mschap2)`,
          { detail: unknownUser },
        ),
      };
    },
  };
}

function createLocalAuthenticator(
  method: Exclude<AuthMethod, "eap-mschap2">,
  options: AuthAuthenticatorOptions,
): AuthAuthenticator {
  const { lookupPassword, randomBytes, name } = options;
  switch (method) {
    case "pap":
      return new PapAuthenticator({ lookupPassword });
    case "chap":
      return new ChapAuthenticator(chapMd5AuthenticatorAlgorithm({ lookupPassword }), {
        name,
        randomBytes,
      });
    case "mschap1":
      return new ChapAuthenticator(msChapV1AuthenticatorAlgorithm({ lookupPassword }), {
        name,
        randomBytes,
      });
    case "mschap2":
      return new ChapAuthenticator(
        msChapV2AuthenticatorAlgorithm({ lookupPassword, randomBytes }),
        { name, randomBytes },
      );
  }
}
