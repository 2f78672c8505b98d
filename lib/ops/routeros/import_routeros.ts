/**
 * `sstp import routeros`: turns a RouterOS `/export` into the `sstp serve`
 * YAML (and `sstp connect` YAML for each `/interface sstp-client`).
 *
 * Translated: `/interface sstp-server server set`, `/interface sstp-server
 * add` (static interfaces), `/interface sstp-client add`, `/ppp secret add`
 * (service `any` or `sstp`), `/ppp profile add|set` (also the built-in
 * `default` and `default-encryption`, found by `[ find default=yes ]`,
 * `[ find name=… ]`, `*0` or `*FFFFFFFE`), `/ip pool add`. Everything else
 * is reported with its line number and the reason: certificates must be
 * exported separately (`/certificate export-certificate`), `/ipv6 pool`,
 * `/radius` and `/ppp aaa` have no equivalent in this configuration yet,
 * other menus are not VPN settings, and so are properties we do not
 * implement (`pfs`, `ciphers`, `mrru`, …).
 *
 * @module
 */
import { stringify } from "yaml";
import { parseRsc, type RscCommand } from "./rsc_parser.ts";
import { parseServerConfig } from "../../config/server_config.ts";

/** A line that was not (fully) translated. */
export interface ImportNote {
  line: number;
  message: string;
}

/** One `/interface sstp-client` as `sstp connect` YAML. */
export interface ImportedClient {
  name: string;
  yaml: string;
}

/** The result of {@linkcode importRouterOs}. */
export interface RouterOsImport {
  /** The server YAML (`sstp serve --config`). */
  serverYaml: string;
  /** True when the export configures an SSTP server (or its PPP settings). */
  hasServer: boolean;
  clients: ImportedClient[];
  notes: ImportNote[];
}

/** Options of {@linkcode importRouterOs}. */
export interface ImportOptions {
  /** Where certificates are expected (default `/etc/sstp`). */
  certificateDir?: string;
}

type Obj = Record<string, string | number | string[]>;

const SERVER_KEYS: Record<string, string> = {
  enabled: "enabled",
  port: "port",
  authentication: "authentication",
  "default-profile": "default-profile",
  "keepalive-timeout": "keepalive-timeout",
  "max-mtu": "max-mtu",
  "max-mru": "max-mru",
  "verify-client-certificate": "verify-client-certificate",
  "tls-version": "tls-version",
};
const SECRET_KEYS = ["name", "password", "profile", "local-address", "remote-address", "routes"];
const PROFILE_KEYS = [
  "name",
  "local-address",
  "remote-address",
  "dns-server",
  "only-one",
  "session-timeout",
  "idle-timeout",
  "change-tcp-mss",
];
/** Profile properties that are about other tunnel types or that we always do. */
const PROFILE_IGNORED = new Set(["use-encryption", "use-compression", "use-mpls", "use-upnp"]);
const CLIENT_KEYS: Record<string, string> = {
  "connect-to": "connect-to",
  port: "port",
  user: "user",
  password: "password",
  authentication: "authentication",
  "verify-server-certificate": "verify-server-certificate",
  "verify-server-address-from-certificate": "verify-server-address-from-certificate",
  "keepalive-timeout": "keepalive-timeout",
  "max-mtu": "max-mtu",
  "max-mru": "max-mru",
  "add-default-route": "add-default-route",
  "default-route-distance": "default-route-distance",
  "tls-version": "tls-version",
  name: "name",
  comment: "comment",
};
const BUILT_IN_PROFILE_IDS: Record<string, string> = {
  "*0": "default",
  "0": "default",
  "*FFFFFFFE": "default-encryption",
};

/** RouterOS writes booleans as yes/no (older exports: true/false); numbers stay numbers. */
function yesNo(v: string): string | number {
  if (/^[0-9]{1,9}$/.test(v)) return Number(v);
  return v === "true" ? "yes" : v === "false" ? "no" : v;
}

/** Translates the text of a RouterOS export. */
export function importRouterOs(text: string, options: ImportOptions = {}): RouterOsImport {
  const certDir = options.certificateDir ?? "/etc/sstp";
  const doc = parseRsc(text);
  const notes: ImportNote[] = [...doc.problems];
  const note = (c: RscCommand, message: string) => notes.push({ line: c.line, message });
  const server: Obj = {};
  let hasServer = false;
  const interfaces: Obj[] = [];
  const secrets: Obj[] = [];
  const profiles = new Map<string, Obj>();
  const pools: Obj[] = [];
  const clients: ImportedClient[] = [];
  const referencedProfiles = new Set<string>();
  const unsupported = (c: RscCommand, keys: readonly string[], what: string) => {
    for (const [k, v] of c.args) {
      if (!keys.includes(k)) note(c, `${what}: ${k}=${v} has no equivalent; left out`);
    }
  };

  for (const c of doc.commands) {
    const where = `${c.menu} ${c.verb}`;
    switch (c.menu) {
      case "/interface sstp-server server": {
        if (c.verb !== "set") {
          note(c, `${where}: only "set" applies here`);
          break;
        }
        hasServer = true;
        for (const [k, v] of c.args) {
          if (k === "certificate") {
            if (v !== "none") {
              server.certificate = `${certDir}/${v}.pem`;
              note(
                c,
                `certificate "${v}": export the certificate separately (RouterOS: /certificate ` +
                  `export-certificate "${v}" type=pem export-passphrase=…) and put the certificate ` +
                  `and its key in ${certDir}/${v}.pem`,
              );
            }
          } else if (k === "default-profile") {
            server["default-profile"] = v;
            referencedProfiles.add(v);
          } else if (SERVER_KEYS[k] !== undefined) {
            server[SERVER_KEYS[k]!] = yesNo(v);
          } else {
            note(c, `sstp-server: ${k}=${v} has no equivalent; left out`);
          }
        }
        break;
      }
      case "/interface sstp-server": {
        if (c.verb !== "add") {
          note(c, `${where}: not translated`);
          break;
        }
        hasServer = true;
        const x: Obj = {};
        for (const k of ["name", "user", "comment"]) {
          const v = c.args.get(k);
          if (v !== undefined) x[k] = v;
        }
        unsupported(c, ["name", "user", "comment"], "sstp-server interface");
        interfaces.push(x);
        break;
      }
      case "/interface sstp-client": {
        if (c.verb !== "add") {
          note(c, `${where}: not translated`);
          break;
        }
        const x: Obj = {};
        for (const [k, v] of c.args) {
          if (CLIENT_KEYS[k] !== undefined) x[CLIENT_KEYS[k]!] = yesNo(v);
          else if (k === "disabled") {
            if (v === "yes" || v === "true") x.disabled = "yes";
          } else if (k === "http-proxy") {
            if (v !== "0.0.0.0" && v !== "::") {
              x["http-proxy"] = `${v}:${c.args.get("proxy-port") ?? "443"}`;
            }
          } else if (k === "proxy-port") {
            // With http-proxy.
          } else if (k === "certificate") {
            if (v !== "none") {
              x.certificate = `${certDir}/${v}.pem`;
              note(
                c,
                `certificate "${v}": export the certificate separately into ${certDir}/${v}.pem`,
              );
            }
          } else if (k === "profile") {
            if (v !== "default-encryption" && v !== "default") {
              note(c, `sstp-client: profile=${v}: client profiles are not used; left out`);
            }
          } else {
            note(c, `sstp-client: ${k}=${v} has no equivalent; left out`);
          }
        }
        const name = c.args.get("name") ?? `sstp-out${clients.length + 1}`;
        x.name = name;
        clients.push({ name, yaml: stringify(x, { lineWidth: 0 }) });
        break;
      }
      case "/ppp secret": {
        if (c.verb !== "add") {
          note(c, `${where}: not translated`);
          break;
        }
        hasServer = true;
        const name = c.args.get("name") ?? "";
        const service = c.args.get("service") ?? "any";
        if (service !== "any" && service !== "sstp") {
          note(c, `secret "${name}": service=${service} is not SSTP; left out`);
          break;
        }
        if (c.args.get("disabled") === "yes") {
          note(c, `secret "${name}": disabled=yes; left out`);
          break;
        }
        const x: Obj = {};
        for (const k of [...SECRET_KEYS, "comment"]) {
          const v = c.args.get(k);
          if (v !== undefined && v !== "") x[k] = v;
        }
        if (x.profile !== undefined) referencedProfiles.add(x.profile as string);
        unsupported(
          c,
          [...SECRET_KEYS, "comment", "service", "disabled", "caller-id"],
          `secret "${name}"`,
        );
        if ((c.args.get("caller-id") ?? "") !== "") {
          note(
            c,
            `secret "${name}": caller-id=${c.args.get("caller-id")} is not checked; left out`,
          );
        }
        secrets.push(x);
        break;
      }
      case "/ppp profile": {
        let name: string | undefined;
        if (c.verb === "add") name = c.args.get("name");
        else if (c.verb === "set") {
          if (c.find?.get("default") === "yes") name = "default";
          else if (c.find?.get("name") !== undefined) name = c.find.get("name");
          else if (c.words[0] !== undefined) {
            name = BUILT_IN_PROFILE_IDS[c.words[0]] ??
              (/^\*/.test(c.words[0]) ? undefined : c.words[0]);
          }
        } else {
          note(c, `${where}: not translated`);
          break;
        }
        if (name === undefined) {
          note(c, `${where}: cannot tell which profile this is; left out`);
          break;
        }
        hasServer = true;
        const x: Obj = profiles.get(name) ?? { name };
        for (const [k, v] of c.args) {
          if (k === "name") continue;
          if (PROFILE_KEYS.includes(k) || k === "comment") {
            x[k] = k === "dns-server" ? v.split(",") : yesNo(v);
          } else if (PROFILE_IGNORED.has(k)) {
            // SSTP always encrypts (TLS); compression, MPLS and UPnP do not apply.
          } else {
            note(c, `profile "${name}": ${k}=${v} has no equivalent; left out`);
          }
        }
        profiles.set(name, x);
        break;
      }
      case "/ip pool": {
        if (c.verb !== "add") {
          note(c, `${where}: not translated`);
          break;
        }
        const x: Obj = {};
        for (const k of ["name", "ranges", "next-pool", "comment"]) {
          const v = c.args.get(k);
          if (v !== undefined && v !== "") x[k] = v;
        }
        unsupported(c, ["name", "ranges", "next-pool", "comment"], `pool "${x.name ?? ""}"`);
        pools.push(x);
        break;
      }
      case "/ipv6 pool":
        note(c, `${where}: IPv6 pools are not in the server configuration yet; left out`);
        break;
      case "/radius":
        note(c, `${where}: RADIUS is not in the server configuration yet; left out`);
        break;
      case "/ppp aaa":
        note(
          c,
          `${where}: RADIUS/accounting settings are not in the server configuration yet; left out`,
        );
        break;
      default:
        if (c.menu.startsWith("/certificate")) {
          note(
            c,
            `${where}: export the certificate separately (see the certificate line of sstp-server)`,
          );
        } else {
          note(c, `${where}: not an SSTP setting; ignored`);
        }
    }
  }
  // RouterOS's sstp-server uses default-encryption unless told otherwise.
  if (hasServer && server["default-profile"] === undefined) {
    server["default-profile"] = "default-encryption";
    referencedProfiles.add("default-encryption");
  }
  // RouterOS's built-in profiles appear in an export only when changed.
  for (const name of ["default", "default-encryption"]) {
    if (referencedProfiles.has(name) && !profiles.has(name) && name !== "default") {
      profiles.set(name, { name });
    }
  }
  const profileList = [...profiles.values()];
  const out: Record<string, unknown> = {};
  if (hasServer || pools.length > 0) {
    out["sstp-server"] = Object.keys(server).length > 0 ? server : { enabled: "yes" };
    if (profileList.length > 0) out.profiles = profileList;
    if (pools.length > 0) out.pools = pools;
    if (secrets.length > 0) out.secrets = secrets;
    if (interfaces.length > 0) out.interfaces = interfaces;
  }
  const serverYaml = Object.keys(out).length === 0 ? "" : stringify(out, { lineWidth: 0 });
  if (serverYaml !== "") {
    // What the export gives must load; anything that does not is reported too.
    try {
      parseServerConfig(serverYaml, "imported");
    } catch (e) {
      notes.push({
        line: 0,
        message: `the translated configuration does not load: ${(e as Error).message}`,
      });
    }
  }
  notes.sort((a, b) => a.line - b.line);
  return { serverYaml, hasServer: hasServer || pools.length > 0, clients, notes };
}
