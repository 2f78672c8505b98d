/**
 * Shell completion scripts for bash, zsh and fish, generated from one table
 * of commands and their options (a test checks the table against every
 * command's `--help`).
 *
 * @module
 */

/** A command and the options it takes. */
export interface CompletedCommand {
  /** The command word (`connect`, `serve`, …). */
  name: string;
  /** One line shown next to the command where the shell supports it. */
  summary: string;
  /** Its options with their leading dashes (`--config`, …). */
  options: string[];
  /** Words allowed as the first argument (sub-commands). */
  words?: string[];
}

/** The commands of `sstp`, as the completion scripts offer them. */
export const COMPLETED_COMMANDS: readonly CompletedCommand[] = [
  {
    name: "connect",
    summary: "run the SSTP client",
    options: [
      "--config",
      "--connect-to",
      "--port",
      "--user",
      "--password-file",
      "--authentication",
      "--verify-server-certificate",
      "--verify-server-address-from-certificate",
      "--ca",
      "--server-fingerprint",
      "--certificate",
      "--certificate-key",
      "--keepalive-timeout",
      "--max-mtu",
      "--max-mru",
      "--add-default-route",
      "--default-route-distance",
      "--use-peer-dns",
      "--name",
      "--sni",
      "--reconnect",
      "--crl",
      "--tls-version",
      "--http-proxy",
      "--metrics",
      "--log-level",
      "--log-format",
      "--help",
    ],
  },
  {
    name: "serve",
    summary: "run the SSTP server",
    options: [
      "--config",
      "--state-dir",
      "--listen",
      "--port",
      "--pool",
      "--control-socket",
      "--log-level",
      "--log-format",
      "--help",
    ],
  },
  { name: "status", summary: "show tunnels and sessions", options: ["--json", "--dir", "--help"] },
  { name: "disconnect", summary: "end one server session", options: ["--socket", "--help"] },
  {
    name: "cert",
    summary: "create and inspect certificates",
    options: [
      "--ca",
      "--ca-key",
      "--cn",
      "--days",
      "--dns",
      "--ip",
      "--out",
      "--key-out",
      "--json",
    ],
    words: ["ca", "server", "client", "show", "crl"],
  },
  { name: "demo", summary: "client and server in two network namespaces", options: ["--help"] },
  {
    name: "doctor",
    summary: "check the machine and a configuration",
    options: ["--config", "--login", "--json", "--help"],
    words: ["server", "client"],
  },
  {
    name: "import",
    summary: "translate a RouterOS export",
    options: ["--help"],
    words: ["routeros"],
  },
  {
    name: "completions",
    summary: "print a shell completion script",
    options: ["--help"],
    words: ["bash", "zsh", "fish"],
  },
];

/** Options that take a file name (completed as files). */
const FILE_OPTIONS = new Set([
  "--config",
  "--password-file",
  "--ca",
  "--certificate",
  "--certificate-key",
  "--crl",
  "--out",
  "--key-out",
  "--ca-key",
  "--state-dir",
  "--control-socket",
  "--socket",
  "--dir",
]);

/** The shells {@linkcode completionScript} writes for. */
export const SHELLS = ["bash", "zsh", "fish"] as const;
/** One of {@linkcode SHELLS}. */
export type Shell = typeof SHELLS[number];

/** The completion script for `shell`. */
export function completionScript(shell: Shell): string {
  switch (shell) {
    case "bash":
      return bash();
    case "zsh":
      return zsh();
    case "fish":
      return fish();
  }
}

function bash(): string {
  const names = COMPLETED_COMMANDS.map((c) => c.name).join(" ");
  const cases = COMPLETED_COMMANDS.map((c) =>
    `    ${c.name}) opts="${[...(c.words ?? []), ...c.options].join(" ")}" ;;`
  ).join("\n");
  const files = [...FILE_OPTIONS].join("|");
  return `# bash completion for sstp: source it, or install as
# /usr/share/bash-completion/completions/sstp
_sstp() {
  local cur prev cmd opts
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "${names} --help --version" -- "$cur"))
    return
  fi
  case "$prev" in
    ${files}) COMPREPLY=($(compgen -f -- "$cur")); return ;;
  esac
  cmd="\${COMP_WORDS[1]}"
  case "$cmd" in
${cases}
    *) opts="" ;;
  esac
  COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}
complete -o default -F _sstp sstp
`;
}

function zsh(): string {
  const described = COMPLETED_COMMANDS.map((c) => `    '${c.name}:${c.summary}'`).join("\n");
  const cases = COMPLETED_COMMANDS.map((c) => {
    const words = (c.words ?? []).join(" ");
    const opts = c.options.map((o) =>
      FILE_OPTIONS.has(o) ? `'${o}=[${o.slice(2)}]:file:_files'` : `'${o}'`
    )
      .join(" ");
    const first = words === "" ? "" : ` '1:${c.name}:(${words})'`;
    return `    ${c.name}) _arguments${first} ${opts} ;;`;
  }).join("\n");
  return `#compdef sstp
# zsh completion for sstp: install as _sstp in a directory of $fpath
_sstp() {
  local -a commands
  commands=(
${described}
  )
  if (( CURRENT == 2 )); then
    _describe 'command' commands
    return
  fi
  local cmd=$words[2]
  shift words
  (( CURRENT-- ))
  case $cmd in
${cases}
  esac
}
_sstp "$@"
`;
}

function fish(): string {
  const lines = [
    "# fish completion for sstp: install as ~/.config/fish/completions/sstp.fish",
    "complete -c sstp -f",
  ];
  const names = COMPLETED_COMMANDS.map((c) => c.name).join(" ");
  for (const c of COMPLETED_COMMANDS) {
    lines.push(
      `complete -c sstp -n "not __fish_seen_subcommand_from ${names}" -a ${c.name} -d '${c.summary}'`,
    );
    for (const w of c.words ?? []) {
      lines.push(`complete -c sstp -n "__fish_seen_subcommand_from ${c.name}" -a ${w}`);
    }
    for (const o of c.options) {
      const file = FILE_OPTIONS.has(o) ? " -r -F" : "";
      lines.push(
        `complete -c sstp -n "__fish_seen_subcommand_from ${c.name}" -l ${o.slice(2)}${file}`,
      );
    }
  }
  return lines.join("\n") + "\n";
}
