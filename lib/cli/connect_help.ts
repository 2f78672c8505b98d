/**
 * `sstp connect --help` text.
 *
 * @module
 */
import { DEFAULT_MTU, MAX_MTU, MIN_MTU } from "../config/values.ts";

/** Help for `sstp connect`, listing every property with its default. */
export const CONNECT_HELP = `Usage: sstp connect [OPTIONS] [CONNECT-TO]

Connects to an SSTP server and brings up a tunnel interface. Options are the
RouterOS "/interface sstp-client" properties in kebab-case. Each may also be
given in a YAML file (--config FILE) under the same key; options given on the
command line win over the file. Booleans take yes, no, true or false; a bare
--flag means yes and --no-flag means no. Relative paths in the file are
relative to the file.

Server
  --connect-to HOST[:PORT]   server name, IPv4 or [IPv6] address; may be given as
                             the argument instead (required)
  --port N                   server TCP port (443)
  --http-proxy HOST[:PORT]   reach the server through an HTTP proxy (port 443)
  --metrics ADDR:PORT        serve Prometheus metrics at /metrics (a bare port: 127.0.0.1)
  --sni NAME|yes|no          TLS server name: yes = the connect-to host name (yes)
  --tls-version V            any, only-1.2 or only-1.3 (any)
  --tls-engine E             deno (node:tls), openssl (system libssl.so.3 by FFI;
                             falls back to deno when missing) or openssl-worker
                             (openssl, data path in a Worker thread) (deno)
  --pfs no|yes|required      forward secrecy; required refuses a session without
                             it (yes; every suite this TLS stack offers has it)
  --ciphers LIST             allowed suites: aes256-gcm-sha384, aes128-gcm-sha256,
                             chacha20-poly1305 (aes256-sha cannot be negotiated);
                             checked after the handshake (all)
  --force-aes yes|no         refuse a session whose cipher is not AES (no)

Certificates
  --verify-server-certificate yes|no               check the chain (yes)
  --verify-server-address-from-certificate yes|no  check the name or address (yes)
  --ca FILE                  PEM CA bundle (default: the system roots)
  --server-fingerprint sha256:HEX
                             pin the server certificate's SHA-256 (64 hex digits)
  --certificate FILE         client certificate (PEM; may hold the key)
  --certificate-key FILE     client key (PEM), when not in --certificate
  --crl FILE                 PEM certificate revocation list

Authentication
  --user NAME                user name (required)
  --password-file FILE       read the password from the first line of FILE
  --password TEXT            the password (visible in process listings; prefer
                             --password-file or the SSTP_PASSWORD environment variable);
                             --password= (or password: "" in the file) is an empty one
  --authentication LIST      comma list of mschap2, eap-mschap2, mschap1, chap, pap
                             (all but eap-mschap2; add it for EAP-only servers)

Link
  --name IFNAME              interface name, at most 15 bytes (sstp-out1)
  --bridge BRIDGE            bridge Ethernet frames (BCP) into this Linux bridge
  --max-mtu N                largest MTU, ${MIN_MTU}-${MAX_MTU} (${DEFAULT_MTU})
  --max-mru N                largest MRU, ${MIN_MTU}-${MAX_MTU} (${DEFAULT_MTU})
  --keepalive-timeout S      seconds (or 1m, 1h…) without an answer before the link
                             is declared dead, or "disabled" (60)
  --add-default-route yes|no route everything through the tunnel, whatever the
                             metric of existing default routes: split routes
                             0.0.0.0/1 + 128.0.0.0/1 via the tunnel (no)
  --default-route-distance N metric of the split routes, 0-255: between tunnels,
                             the lowest distance carries the traffic (1)
  --kill-switch yes|no       while the tunnel is down or reconnecting, drop what
                             its default routes would carry instead of letting it
                             leave through the old default route; needs
                             --add-default-route and the server (or proxy) as an
                             IP address (no)
  --use-peer-dns yes|no      use the DNS servers the server offers, routed through
                             the tunnel (no)
  --use-ipv6 yes|no          negotiate IPv6 (IPV6CP) and take an address from the
                             server's Router Advertisement; with add-default-route
                             also ::/1 + 8000::/1 via the tunnel (no)
  --dhcpv6-pd yes|no         with --use-ipv6: ask the server for a delegated
                             prefix (DHCPv6-PD), renew it, route it as
                             unreachable locally (no)
  --dhcpv6-pd-interface IF   put the delegated prefix's first /64 (::1/64) on
                             this downstream interface
  --reconnect yes|no         reconnect after the link drops (yes)
  --dial-on-demand yes|no    keep the interface waiting with a placeholder address
                             and the routes; the first packet into it dials (no)
  --dial-on-demand-address LOCAL[,PEER]
                             the placeholder addresses (10.112.112.2,10.112.112.1)
  --idle-timeout T|none      with dial-on-demand: hang up after T (30s, 5m) without
                             data, and wait for traffic again (none)
  --profile NAME             PPP profile for change-tcp-mss, use-encryption and
                             idle-timeout: one of the config file's "profiles"
                             or default / default-encryption (default-encryption)
  --mrru N|disabled          multilink MRRU, 512-16384: packets larger than the
                             link MTU cross as MP fragments (disabled)

Other
  --config FILE              YAML file with any of the keys above
  --log-level LEVEL          error, warn, info, debug or trace (info)
  --log-format FORMAT        text or json (one object per line, for journald) (text)
  --comment TEXT             free text, shown in logs and by sstp status
  --disabled yes|no          parse the configuration but do not connect (no)
  -h, --help                 show this help

The password is taken from --password or --password-file, else from
SSTP_PASSWORD, else from "password" or "password-file" in the config file.
`;
