/**
 * Starts Debian's FreeRADIUS 3 in the foreground with a configuration
 * generated in a temporary directory: PAP, CHAP and MS-CHAP (with MPPE
 * keys), and on request EAP-MSCHAPv2, against a `users` file, accounting into a `detail` file. It listens
 * only on the address given (loopback or an address inside a test
 * namespace) on random ports.
 *
 * @module
 */
import assert from "node:assert/strict";
import { execCommand } from "./netns.ts";

/** One user of the generated `users` file. */
export interface RadiusTestUser {
  name: string;
  password: string;
  /** Reply items, FreeRADIUS syntax, e.g. `Framed-IP-Address = 198.18.50.9`. */
  reply?: string[];
}

/** Options of {@linkcode startFreeRadius}. */
export interface FreeRadiusOptions {
  /** Listen address (default 127.0.0.1, or a namespace address). */
  address?: string;
  /** Client allowed to talk to it (address or CIDR; default 127.0.0.1). */
  client?: string;
  secret: string;
  users: RadiusTestUser[];
  /** Run inside this namespace (`ip netns exec`). */
  netns?: string;
  /**
   * Also authenticate EAP (RFC 3579): the eap module with EAP-MSCHAPv2 as its
   * default type, against the same users.
   */
  eap?: boolean;
}

/** A running FreeRADIUS. */
export interface FreeRadius {
  authPort: number;
  acctPort: number;
  dir: string;
  /** The accounting detail file's text ("" before the first record). */
  detail(): Promise<string>;
  /** FreeRADIUS's own log so far. */
  log(): Promise<string>;
  stop(): Promise<void>;
}

function randomPort(): number {
  return 20000 + (crypto.getRandomValues(new Uint16Array(1))[0]! % 30000);
}

/** Generates the configuration and starts `freeradius -X`; resolves once it is ready. */
export async function startFreeRadius(o: FreeRadiusOptions): Promise<FreeRadius> {
  const dir = await Deno.makeTempDir({ prefix: "sstp-freeradius-" });
  const authPort = randomPort();
  const acctPort = authPort + 1;
  const users = o.users.map((u) => {
    const reply = (u.reply ?? []).map((r) => `\t${r}`).join(",\n");
    return `${u.name}\tCleartext-Password := "${u.password}"\n${reply}\n`;
  }).join("\n");
  await Deno.mkdir(`${dir}/run`);
  await Deno.mkdir(`${dir}/log`);
  await Deno.writeTextFile(`${dir}/users`, users);
  await Deno.writeTextFile(
    `${dir}/dictionary`,
    "$INCLUDE /usr/share/freeradius/dictionary\n",
  );
  await Deno.writeTextFile(
    `${dir}/radiusd.conf`,
    `
prefix = /usr
exec_prefix = /usr
sysconfdir = /etc
localstatedir = /var
sbindir = /usr/sbin
logdir = ${dir}/log
raddbdir = ${dir}
radacctdir = ${dir}
name = freeradius
confdir = ${dir}
modconfdir = ${dir}
certdir = ${dir}
cadir = ${dir}
run_dir = ${dir}/run
db_dir = ${dir}
libdir = /usr/lib/freeradius
pidfile = ${dir}/run/radiusd.pid
max_request_time = 30
cleanup_delay = 2
max_requests = 1024
hostname_lookups = no
log {
  destination = stdout
  colourise = no
  auth = yes
}
security {
  allow_core_dumps = no
  max_attributes = 200
  reject_delay = 0
  status_server = no
}
thread pool {
  start_servers = 1
  max_servers = 4
  min_spare_servers = 1
  max_spare_servers = 2
  max_requests_per_server = 0
}
client sstp {
  ipaddr = ${o.client ?? "127.0.0.1"}
  secret = ${o.secret}
  require_message_authenticator = yes
}
modules {
  pap {
  }
  chap {
  }
  mschap {
    use_mppe = yes
    require_encryption = yes
    require_strong = yes
  }
  files {
    filename = ${dir}/users
  }${
      o.eap
        ? `
  eap {
    default_eap_type = mschapv2
    timer_expire = 60
    ignore_unknown_eap_types = no
    max_sessions = 256
    mschapv2 {
      send_error = no
    }
  }`
        : ""
    }
  detail {
    filename = ${dir}/detail
    permissions = 0600
    header = "%t"
    locking = no
  }
}
server default {
  listen {
    type = auth
    ipaddr = ${o.address ?? "127.0.0.1"}
    port = ${authPort}
  }
  listen {
    type = acct
    ipaddr = ${o.address ?? "127.0.0.1"}
    port = ${acctPort}
  }
  authorize {
    chap
    mschap${
      o.eap
        ? `
    eap {
      ok = return
    }`
        : ""
    }
    files
    pap
  }
  authenticate {
    Auth-Type PAP {
      pap
    }
    Auth-Type CHAP {
      chap
    }
    Auth-Type MS-CHAP {
      mschap
    }${
      o.eap
        ? `
    Auth-Type EAP {
      eap
    }`
        : ""
    }
  }
  preacct {
  }
  accounting {
    detail
  }
  # FreeRADIUS 3.2.1 signs replies with a Message-Authenticator only when the
  # reply holds one (3.2.5 and later always do, after BlastRADIUS).
  post-auth {
    update reply {
      Message-Authenticator := 0x00
    }
    Post-Auth-Type REJECT {
      update reply {
        Message-Authenticator := 0x00
      }
    }
  }
}
`,
  );
  const prefix = o.netns === undefined ? [] : ["ip", "netns", "exec", o.netns];
  // Foreground with debug output into a log file: FreeRADIUS block-buffers a piped stdout.
  const [program, ...args] = [
    ...prefix,
    "freeradius",
    "-f",
    "-xx",
    "-l",
    `${dir}/radiusd.log`,
    "-d",
    dir,
  ];
  const child = new Deno.Command(program!, {
    args,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text().catch(() => "");
  let isStopped = false;
  const readLog = async () =>
    (await Deno.readTextFile(`${dir}/radiusd.log`).catch(() => "")) +
    (isStopped ? await stderr : "");
  const stop = async () => {
    if (isStopped) return;
    isStopped = true;
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
    const t = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
    }, 3000);
    await child.status;
    clearTimeout(t);
    await stderr;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  for (let i = 0; i < 100; i++) {
    const text = await readLog();
    if (text.includes("Ready to process requests")) {
      return {
        authPort,
        acctPort,
        dir,
        detail: () => Deno.readTextFile(`${dir}/detail`).catch(() => ""),
        log: readLog,
        stop,
      };
    }
    const st = await Promise.race([
      child.status,
      new Promise<undefined>((r) => setTimeout(() => r(undefined), 100)),
    ]);
    if (st !== undefined) break;
  }
  const text = await readLog();
  await stop();
  throw new Error(`Cannot start FreeRADIUS:\n${text.slice(-3000)}`);
}

/** Runs `radclient` against `address:port` with attribute lines on stdin. */
export async function radclient(
  target: string,
  command: "auth" | "acct" | "disconnect" | "coa",
  secret: string,
  attributes: string,
  netns?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const prefix = netns === undefined ? [] : ["ip", "netns", "exec", netns];
  return await execCommand(
    [...prefix, "radclient", "-x", "-r", "2", "-t", "2", target, command, secret],
    { stdin: attributes, timeoutMs: 15_000 },
  );
}

/**
 * The `radius` and `ppp-aaa` sections of an `sstp serve` config that
 * authenticates and accounts through the FreeRADIUS at `address` (default
 * 127.0.0.1) and `ports` (1 s timeout), and with `incomingPort` a
 * `radius-incoming` listener (CoA, Disconnect) there.
 */
export function radiusServerYaml(
  ports: { authPort: number; acctPort: number },
  secret: string,
  options: { address?: string; incomingPort?: number } = {},
): string {
  const incoming = options.incomingPort === undefined
    ? ""
    : `radius-incoming:\n  accept: yes\n  port: ${options.incomingPort}\n`;
  return `radius:
  - address: ${options.address ?? "127.0.0.1"}
    secret: "${secret}"
    authentication-port: ${ports.authPort}
    accounting-port: ${ports.acctPort}
    timeout: 1s
ppp-aaa:
  use-radius: yes
  accounting: yes
${incoming}`;
}

/**
 * Sends a CoA-Request or Disconnect-Request with `attributes` to the
 * `radius-incoming` listener on 127.0.0.1:`port` inside `netns`, and asserts
 * the server's ACK.
 */
export async function assertIncomingAck(
  netns: string,
  port: number,
  command: "coa" | "disconnect",
  secret: string,
  attributes: string,
): Promise<void> {
  const r = await radclient(`127.0.0.1:${port}`, command, secret, attributes, netns);
  const ack = command === "coa" ? /CoA-ACK/ : /Disconnect-ACK/;
  assert.match(r.stdout, ack, r.stdout + r.stderr);
}
