/**
 * The TUN device seam (wireguard-go `tun.Device`). `lib/` depends only on this
 * interface; `ffi/linux_tun.ts` implements it for Linux and
 * `test/helpers/memory_tun.ts` in memory, so the in-memory pair tests run the
 * data path production runs.
 *
 * One way in and one way out:
 * - reads are pushed: {@linkcode TunDevice.readPush} hands every batch the
 *   device has queued to a callback, synchronously, inside the wake-up that
 *   found it (no promise per batch, no suspended reader per device), with
 *   pause/resume for backpressure and `poll()` to collect at once what the
 *   local stack answered inside a write;
 * - writes are synchronous batches: {@linkcode TunDevice.writePackets}.
 *
 * @module
 */

/** A layer-3 TUN device carrying raw IPv4/IPv6 packets (IFF_TUN | IFF_NO_PI). */
export interface TunDevice {
  /** Kernel interface name, e.g. `sstp-out1`. */
  readonly name: string;
  /**
   * Starts push reads, once per device: from now on every batch of whole IP
   * packets goes to `onPackets`, synchronously, inside the wake-up that found
   * it. `onEnd` runs once when the device closes (no error) or reading fails.
   */
  readPush(
    onPackets: (batch: Uint8Array[]) => void,
    onEnd: (error?: Error) => void,
  ): TunReadControl;
  /**
   * Writes a batch of whole IP packets synchronously. Returns how many were
   * written; the rest were dropped (queue full), as a NIC would.
   */
  writePackets(packets: readonly Uint8Array[]): number;
  /** Closes the device (idempotent); push reads end. */
  close(): void;
  /** Packet and byte counters. */
  readonly stats: TunStats;
}

/** Flow control of {@linkcode TunDevice.readPush}. */
export interface TunReadControl {
  /** Stops delivering batches (the kernel queue, txqueuelen, absorbs the burst). */
  pause(): void;
  /** Delivers again, starting with what queued meanwhile. */
  resume(): void;
  /**
   * Delivers what the device has queued right now, synchronously, unless
   * paused. The data path calls it right after writing to the device: the
   * local stack often answers inside that write (ICMP echo replies, TCP ACKs),
   * and waiting for the next wake-up would add its latency.
   */
  poll(): void;
  /** Ends push reads for good (idempotent); `onEnd` is not called. */
  stop(): void;
}

/** Counters kept by a {@linkcode TunDevice}. */
export interface TunStats {
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
  txDropped: number;
}
