/**
 * The TUN device of a dial-on-demand client (`dial-on-demand: yes`), which
 * outlives its sessions. One push reader on the device hands packets either
 * to the session that is up, through a {@linkcode DemandTun.view} that looks
 * like a device of its own to the data path, or, while there is none, to a
 * bounded waiting queue whose first packet asks for a connection.
 *
 * Only unicast IP traffic dials ({@linkcode demandsLink}); the kernel's own
 * multicast on a new interface is dropped while waiting. The queue keeps at most {@linkcode DEMAND_QUEUE_PACKETS} packets and
 * {@linkcode DEMAND_QUEUE_BYTES} bytes (the rest is dropped, as a full NIC
 * queue would) and is handed to the next session first, so packets sent
 * while the tunnel came up still go out.
 *
 * @module
 */
import type { PlatformTun } from "../platform.ts";
import type { TunReadControl, TunStats } from "../tun.ts";

/** Largest number of packets kept while the connection is being made. */
export const DEMAND_QUEUE_PACKETS = 64;
/** Largest number of bytes kept while the connection is being made. */
export const DEMAND_QUEUE_BYTES = 256 * 1024;

interface Sink {
  onPackets(batch: Uint8Array[]): void;
  onEnd(error?: Error): void;
}

/** A TUN device shared by the successive sessions of a dial-on-demand client. */
export class DemandTun {
  readonly #device: PlatformTun;
  readonly #control: TunReadControl;
  #sink: Sink | undefined;
  #queue: Uint8Array[] = [];
  #queuedBytes = 0;
  #dropped = 0;
  #onDemand: (() => void) | undefined;

  /**
   * Starts reading `device` (which must support push reads).
   *
   * @throws {Error} When the device has no push mode.
   */
  constructor(device: PlatformTun) {
    if (device.readPush === undefined) {
      throw new Error(`Cannot use TUN device "${device.name}" on demand: it has no push reads`);
    }
    this.#device = device;
    this.#control = device.readPush(
      (batch) => this.#packets(batch),
      (error) => this.#sink?.onEnd(error),
    );
  }

  /** The device's name. */
  get name(): string {
    return this.#device.name;
  }

  /** Packets waiting for a connection. */
  get queued(): number {
    return this.#queue.length;
  }

  /** The first waiting packet, described for the log (`undefined` when none waits). */
  get firstQueued(): string | undefined {
    const p = this.#queue[0];
    return p === undefined ? undefined : describeIpPacket(p);
  }

  /** Packets dropped because the waiting queue was full (since the last take). */
  get dropped(): number {
    return this.#dropped;
  }

  /**
   * Resolves at the first packet that arrives while no session holds the
   * device (at once when packets are waiting already). `signal` abandons the wait.
   */
  waitForDemand(signal: AbortSignal): Promise<boolean> {
    if (this.#queue.length > 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (demanded: boolean) => {
        this.#onDemand = undefined;
        signal.removeEventListener("abort", abort);
        resolve(demanded);
      };
      const abort = () => done(false);
      if (signal.aborted) return done(false);
      signal.addEventListener("abort", abort, { once: true });
      this.#onDemand = () => done(true);
    });
  }

  /** Forgets the waiting packets (a connection attempt failed): returns how many. */
  discard(): number {
    const n = this.#queue.length;
    this.#queue = [];
    this.#queuedBytes = 0;
    this.#dropped = 0;
    return n;
  }

  /**
   * A device for one session: its `readPush` receives the waiting packets
   * first (those `keep` accepts), then the device's; `close()` hands the
   * device back to the waiting queue without closing it.
   */
  view(keep: (packet: Uint8Array) => boolean = () => true): PlatformTun {
    const device = this.#device;
    let resolveClosed!: () => void;
    const closed = new Promise<void>((r) => resolveClosed = r);
    let sink: Sink | undefined;
    const detach = () => {
      if (sink !== undefined && this.#sink === sink) {
        this.#sink = undefined;
        this.#control.resume();
      }
      sink = undefined;
    };
    let isClosed = false;
    return {
      name: device.name,
      readPush: (onPackets, onEnd) => {
        if (isClosed || this.#sink !== undefined) {
          throw new Error(`Cannot push reads from TUN device "${device.name}": already reading`);
        }
        sink = { onPackets, onEnd };
        this.#sink = sink;
        const waiting = this.#queue.filter(keep);
        this.#queue = [];
        this.#queuedBytes = 0;
        // After the caller holds the control, as a device's first delivery.
        queueMicrotask(() => {
          if (sink !== undefined && this.#sink === sink && waiting.length > 0) onPackets(waiting);
        });
        return {
          pause: () => {
            if (sink !== undefined && this.#sink === sink) this.#control.pause();
          },
          resume: () => {
            if (sink !== undefined && this.#sink === sink) this.#control.resume();
          },
          poll: () => {
            if (sink !== undefined && this.#sink === sink) this.#control.poll();
          },
          stop: detach,
        };
      },
      writePackets: (packets) => device.writePackets(packets),
      get stats(): TunStats {
        return device.stats;
      },
      close: () => {
        if (isClosed) return;
        isClosed = true;
        detach();
        resolveClosed();
      },
      closed,
    };
  }

  /** Closes the device for good. */
  close(): void {
    this.#control.stop();
    this.#device.close();
  }

  /** Resolves once the device is really closed. */
  get closed(): Promise<void> {
    return this.#device.closed;
  }

  #packets(batch: Uint8Array[]): void {
    if (this.#sink !== undefined) {
      this.#sink.onPackets(batch);
      return;
    }
    let wanted = false;
    for (const p of batch) {
      if (!demandsLink(p)) continue;
      wanted = true;
      if (
        this.#queue.length >= DEMAND_QUEUE_PACKETS ||
        this.#queuedBytes + p.length > DEMAND_QUEUE_BYTES
      ) {
        this.#dropped++;
        continue;
      }
      // The device's buffer may be reused by the next read: keep a copy.
      this.#queue.push(p.slice());
      this.#queuedBytes += p.length;
    }
    if (wanted) this.#onDemand?.();
  }
}

/**
 * True when `packet` is traffic for the far side: unicast IPv4 or IPv6.
 * What the kernel sends by itself on a new interface (IPv6 router
 * solicitations, MLD reports, both to multicast from link-local addresses)
 * and broadcasts must not dial: they are dropped while waiting.
 */
export function demandsLink(packet: Uint8Array): boolean {
  const version = (packet[0] ?? 0) >> 4;
  if (version === 4 && packet.length >= 20) {
    const first = packet[16]!;
    const isBroadcast = packet[16] === 255 && packet[17] === 255 && packet[18] === 255 &&
      packet[19] === 255;
    return (first & 0xf0) !== 0xe0 && !isBroadcast;
  }
  if (version === 6 && packet.length >= 40) {
    const first = packet[24]!;
    const isLinkLocal = first === 0xfe && (packet[25]! & 0xc0) === 0x80;
    return first !== 0xff && !isLinkLocal;
  }
  return false;
}

/** `proto 1 198.18.60.2 > 198.19.5.5` (IPv4) or `next 58 ::1 > 2001:2::1` (IPv6), for logs. */
export function describeIpPacket(p: Uint8Array): string {
  const version = (p[0] ?? 0) >> 4;
  if (version === 4 && p.length >= 20) {
    return `IPv4 proto ${p[9]} ${p.subarray(12, 16).join(".")} > ${p.subarray(16, 20).join(".")}`;
  }
  if (version === 6 && p.length >= 40) {
    const hex = (a: Uint8Array) =>
      Array.from({ length: 8 }, (_, i) => ((a[2 * i]! << 8) | a[2 * i + 1]!).toString(16)).join(
        ":",
      );
    return `IPv6 next ${p[6]} ${hex(p.subarray(8, 24))} > ${hex(p.subarray(24, 40))}`;
  }
  return `${p.length}-byte packet of IP version ${version}`;
}
