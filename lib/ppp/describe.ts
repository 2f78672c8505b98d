/**
 * One-line renderings of PPP control packets in the pppd/accel-ppp trace
 * style, so logs read like those of the daemons admins know, e.g. `LCP ConfReq id=0x1 <mru 1500> <magic 0x5a3c9e01>`.
 * PAP, CHAP and EAP packets are summarised without secrets. Never throws.
 *
 * @module
 */
import { bcpOptionHandlers } from "./bcp/bcp.ts";
import {
  CP_CODE,
  CP_CODE_NAME,
  IPCP_OPTION,
  LCP_OPTION,
  PROTOCOL,
  PROTOCOL_NAME,
} from "./constants.ts";
import { type CpOption, type CpPacket, decodeCpPacket, decodeOptions } from "./cp_packet.ts";
import { peerBytesText as printable } from "../peer_text.ts";
import { readUint } from "./option_handler.ts";
import type { OptionHandler } from "./option_handler.ts";
import { AuthProtocolHandler } from "./lcp/auth_protocol.ts";
import { MagicNumberHandler } from "./lcp/magic_number.ts";
import { MruHandler } from "./lcp/mru.ts";
import { PfcHandler } from "./lcp/pfc.ts";
import { AcfcHandler } from "./lcp/acfc.ts";
import { MrruHandler, ShortSequenceHandler } from "./lcp/mrru.ts";
import { DnsHandler } from "./ipcp/dns.ts";
import { IpAddressHandler } from "./ipcp/ip_address.ts";
import { InterfaceIdentifierHandler } from "./ipv6cp/interface_identifier.ts";

/** Renders one option's data, or `undefined` to fall back to `opt TYPE len=N`. */
type OptionDescriber = (data: Uint8Array) => string | undefined;

/**
 * The options each control protocol negotiates are rendered by their own
 * handler's `describe()`, so a trace line and the negotiation share one
 * definition of every option. These instances only describe: `describe()`
 * reads nothing but its argument (and the option type).
 */
function handlerDescribers(handlers: OptionHandler[]): Map<number, OptionDescriber> {
  return new Map(handlers.map((h) => [h.type, (data) => h.describe(data)]));
}

const zeros = (n: number) => new Uint8Array(n);

/**
 * Options we recognise but never negotiate (each control protocol
 * Configure-Rejects them), rendered so traces of Windows and RRAS peers read well.
 */
const REJECTED_OPTIONS: Readonly<Record<number, Readonly<Record<number, OptionDescriber>>>> = {
  [PROTOCOL.LCP]: {
    [LCP_OPTION.ACCM]: (data) =>
      data.length === 4 ? `asyncmap 0x${readUint(data).toString(16)}` : undefined,
    [LCP_OPTION.CALLBACK]: (data) => `callback 0x${(data[0] ?? 0).toString(16)}`,
  },
  [PROTOCOL.IPCP]: {
    [IPCP_OPTION.PRIMARY_NBNS]: (data) =>
      data.length === 4 ? `ms-wins1 ${Array.from(data).join(".")}` : undefined,
    [IPCP_OPTION.SECONDARY_NBNS]: (data) =>
      data.length === 4 ? `ms-wins2 ${Array.from(data).join(".")}` : undefined,
    [IPCP_OPTION.IP_COMPRESSION_PROTOCOL]: (data) =>
      data.length >= 2 ? `compress 0x${readUint(data.subarray(0, 2)).toString(16)}` : undefined,
  },
};

/** Per protocol: option type → describer (handlers first, then recognised rejects). */
const OPTION_DESCRIBERS: ReadonlyMap<number, ReadonlyMap<number, OptionDescriber>> = new Map(
  [
    [PROTOCOL.LCP, [
      new MruHandler(),
      new AuthProtocolHandler(),
      new MagicNumberHandler({ randomBytes: zeros, requestMagic: false }),
      new PfcHandler(),
      new AcfcHandler(),
      new MrruHandler(undefined),
      new ShortSequenceHandler(false, false),
    ]],
    [PROTOCOL.IPCP, [
      new IpAddressHandler({ role: "client" }),
      new DnsHandler(IPCP_OPTION.PRIMARY_DNS, { role: "client" }),
      new DnsHandler(IPCP_OPTION.SECONDARY_DNS, { role: "client" }),
    ]],
    [PROTOCOL.IPV6CP, [new InterfaceIdentifierHandler({ randomBytes: zeros })]],
    [PROTOCOL.BCP, bcpOptionHandlers()],
  ].map(([protocol, handlers]) => {
    const table = handlerDescribers(handlers as OptionHandler[]);
    for (const [type, d] of Object.entries(REJECTED_OPTIONS[protocol as number] ?? {})) {
      table.set(Number(type), d);
    }
    return [protocol as number, table];
  }),
);

function hex(v: number): string {
  return `0x${v.toString(16)}`;
}

function protocolName(protocol: number): string {
  return PROTOCOL_NAME[protocol] ?? `proto=0x${protocol.toString(16).padStart(4, "0")}`;
}

/**
 * Renders a control-protocol or authentication packet.
 *
 * @param protocol PPP protocol number the packet travelled in.
 * @param packet code|id|length|data.
 *
 * @example
 * ```ts
 * import { describeCpPacket } from "./describe.ts";
 * const s = describeCpPacket(0xc021, new Uint8Array([1, 1, 0, 8, 1, 4, 5, 220]));
 * if (s !== "LCP ConfReq id=0x1 <mru 1500>") throw new Error(s);
 * ```
 */
export function describeCpPacket(protocol: number, packet: Uint8Array): string {
  const name = protocolName(protocol);
  let p: CpPacket;
  try {
    p = decodeCpPacket(packet);
  } catch {
    return `${name} <malformed len=${packet.length}>`;
  }
  const head = `${name} ${codeName(protocol, p.code)} id=${hex(p.identifier)}`;
  switch (protocol) {
    case PROTOCOL.PAP:
      return `${head}${describePap(p)}`;
    case PROTOCOL.CHAP:
      return `${head}${describeChap(p)}`;
    case PROTOCOL.EAP:
      return `${head}${describeEap(p)}`;
  }
  const describer = OPTION_DESCRIBERS.get(protocol);
  if (describer === undefined) return `${head} len=${p.data.length}`;
  return `${head}${describeControlData(protocol, p, describer)}`;
}

function describeControlData(
  protocol: number,
  p: CpPacket,
  describers: ReadonlyMap<number, OptionDescriber>,
): string {
  switch (p.code) {
    case CP_CODE.CONFIGURE_REQUEST:
    case CP_CODE.CONFIGURE_ACK:
    case CP_CODE.CONFIGURE_NAK:
    case CP_CODE.CONFIGURE_REJECT: {
      let options: CpOption[];
      try {
        options = decodeOptions(p.data);
      } catch {
        return ` <malformed options len=${p.data.length}>`;
      }
      return options.map((o) =>
        ` <${describers.get(o.type)?.(o.data) ?? `opt ${hex(o.type)} len=${o.data.length + 2}`}>`
      ).join("");
    }
    case CP_CODE.TERMINATE_REQUEST:
    case CP_CODE.TERMINATE_ACK:
      return p.data.length > 0 ? ` "${printable(p.data)}"` : "";
    case CP_CODE.CODE_REJECT:
      return p.data.length > 0 ? ` code=${hex(p.data[0] ?? 0)}` : "";
  }
  if (protocol !== PROTOCOL.LCP) return ` len=${p.data.length}`;
  switch (p.code) {
    case CP_CODE.PROTOCOL_REJECT:
      return p.data.length >= 2
        ? ` proto=0x${readUint(p.data.subarray(0, 2)).toString(16).padStart(4, "0")}`
        : "";
    case CP_CODE.ECHO_REQUEST:
    case CP_CODE.ECHO_REPLY:
    case CP_CODE.DISCARD_REQUEST: {
      if (p.data.length < 4) return ` len=${p.data.length}`;
      const rest = p.data.length - 4;
      return ` magic=${hex(readUint(p.data.subarray(0, 4)))}${rest > 0 ? ` len=${rest}` : ""}`;
    }
    default:
      return ` len=${p.data.length}`;
  }
}

const PAP_CODE: Readonly<Record<number, string>> = { 1: "AuthReq", 2: "AuthAck", 3: "AuthNak" };
const CHAP_CODE: Readonly<Record<number, string>> = {
  1: "Challenge",
  2: "Response",
  3: "Success",
  4: "Failure",
};

function codeName(protocol: number, code: number): string {
  const table = protocol === PROTOCOL.PAP
    ? PAP_CODE
    : protocol === PROTOCOL.CHAP
    ? CHAP_CODE
    : protocol === PROTOCOL.EAP
    ? { 1: "Request", 2: "Response", 3: "Success", 4: "Failure" } as Record<number, string>
    : CP_CODE_NAME;
  return table[code] ?? `code=${hex(code)}`;
}

/** RFC 1334 2.2: Peer-ID and Password are length-prefixed; the password is never shown. */
function describePap(p: CpPacket): string {
  const d = p.data;
  if (p.code === 1) {
    const idLength = d[0] ?? 0;
    const peerId = d.subarray(1, 1 + idLength);
    const passwordLength = d[1 + idLength] ?? 0;
    return ` user="${printable(peerId)}" password=<redacted len=${passwordLength}>`;
  }
  const messageLength = d[0] ?? 0;
  return messageLength > 0 ? ` "${printable(d.subarray(1, 1 + messageLength))}"` : "";
}

const EAP_TYPE_NAME: Readonly<Record<number, string>> = {
  1: "Identity",
  2: "Notification",
  3: "Nak",
  26: "MSCHAPv2",
};

/**
 * RFC 3748 4: Type and Type-Data of Requests and Responses. EAP-MSCHAPv2
 * (type 26) OpCodes 1-4 match the CHAP codes and their data after the
 * 4-byte MS-CHAPv2 header is laid out as in CHAP, so it is shown (and
 * redacted) the same way.
 */
function describeEap(p: CpPacket): string {
  const d = p.data;
  if (p.code !== 1 && p.code !== 2) return d.length > 0 ? ` len=${d.length}` : "";
  if (d.length === 0) return " <no type>";
  const type = d[0] ?? 0;
  const name = EAP_TYPE_NAME[type];
  const rest = d.subarray(1);
  switch (type) {
    case 1:
    case 2:
      return rest.length > 0 ? ` ${name} "${printable(rest)}"` : ` ${name}`;
    case 3:
      return ` Nak types=${[...rest].join(",") || "none"}`;
    case 26: {
      const opCode = rest[0] ?? 0;
      const opName = CHAP_CODE[opCode] ?? `opcode=${hex(opCode)}`;
      if (rest.length <= 1) return ` ${name} ${opName}`;
      if (rest.length < 4 || opCode < 1 || opCode > 4) {
        return ` ${name} ${opName} len=${rest.length}`;
      }
      const inner = { code: opCode, identifier: rest[1] ?? 0, data: rest.subarray(4) };
      return ` ${name} ${opName} id=${hex(inner.identifier)}${describeChap(inner)}`;
    }
    default:
      return ` type=${type} len=${rest.length}`;
  }
}

/** RFC 1994 4.1: Value-Size, Value, Name. Responses are redacted; S= in Success is redacted. */
function describeChap(p: CpPacket): string {
  const d = p.data;
  if (p.code === 1 || p.code === 2) {
    const valueSize = d[0] ?? 0;
    const value = d.subarray(1, 1 + valueSize);
    const name = printable(d.subarray(1 + valueSize));
    const shown = p.code === 1
      ? `<${Array.from(value, (b) => b.toString(16).padStart(2, "0")).join("")}>`
      : `<redacted len=${value.length}>`;
    return ` ${shown}, name = "${name}"`;
  }
  if (d.length === 0) return "";
  return ` "${printable(d).replace(/S=[0-9A-Fa-f]+/, (m) => `S=<redacted len=${m.length - 2}>`)}"`;
}
