/**
 * The operating keys of the `sstp-server` section: how logs are written and
 * the HTTP listeners for metrics and the status page.
 *
 * ```yaml
 * sstp-server:
 *   log-format: json              # text (default) or json, one object per line
 *   metrics: 127.0.0.1:9477       # Prometheus /metrics (off by default)
 *   metrics-per-user: no          # per-user series (cardinality: off by default)
 *   web-status: 127.0.0.1:9478    # live status page (off by default)
 *   web-status-auth-file: /etc/sstp/web-status.htpasswd  # "user:password" lines
 * ```
 *
 * A listener given as a bare port binds 127.0.0.1: both show who is
 * connected from where, which is for the administrator, not the network.
 *
 * @module
 */
import { isMap, isScalar, type Node } from "yaml";
import { ConfigError } from "../config/config_error.ts";
import { InvalidValueError, parseYesNo } from "../config/values.ts";
import { type ListenAddress, parseListenAddress } from "../config/listen_address.ts";

export type { ListenAddress };
import { type YamlEntry, YamlSource } from "../config/yaml_source.ts";
import { type LogFormat, parseLogFormat } from "../config/log_format.ts";

/** The operating settings. */
export interface OpsConfig {
  logFormat: LogFormat;
  metrics: ListenAddress | undefined;
  metricsPerUser: boolean;
  webStatus: ListenAddress | undefined;
  webStatusAuthFile: string | undefined;
}

/** Defaults: text logs, no listeners. */
export const DEFAULT_OPS_CONFIG: OpsConfig = {
  logFormat: "text",
  metrics: undefined,
  metricsPerUser: false,
  webStatus: undefined,
  webStatusAuthFile: undefined,
};

/**
 * Reads the operating keys from a server configuration file's text (the rest
 * of the file is checked by `parseServerConfig`).
 *
 * @throws {ConfigError} with each bad value's line.
 */
export function parseOpsConfig(yamlText: string, fileName: string): OpsConfig {
  const source = new YamlSource(yamlText, fileName);
  if (source.issues.length > 0) throw new ConfigError(fileName, source.issues);
  const out: OpsConfig = { ...DEFAULT_OPS_CONFIG };
  const root = source.root;
  if (!isMap(root)) return out;
  const section = root.items.find((p) => isScalar(p.key) && p.key.value === "sstp-server")?.value;
  if (!isMap(section)) return out;
  for (const pair of section.items) {
    if (!isScalar(pair.key)) continue;
    const key = String(pair.key.value);
    const entry: YamlEntry = {
      key: pair.key,
      value: (pair.value ?? undefined) as Node | undefined,
    };
    const path = `sstp-server.${key}`;
    switch (key) {
      case "log-format":
        out.logFormat = source.value(entry, path, parseLogFormat) ?? out.logFormat;
        break;
      case "metrics":
        out.metrics = source.value(entry, path, parseListenAddress);
        break;
      case "metrics-per-user":
        out.metricsPerUser = source.value(entry, path, parseYesNo) ?? false;
        break;
      case "web-status":
        out.webStatus = source.value(entry, path, parseListenAddress);
        break;
      case "web-status-auth-file":
        out.webStatusAuthFile = source.value(entry, path, (t) => {
          if (!t.startsWith("/")) throw new InvalidValueError(`"${t}" is not an absolute path`);
          return t;
        });
        break;
    }
  }
  if (source.issues.length > 0) throw new ConfigError(fileName, source.issues);
  return out;
}
