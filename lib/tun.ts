/**
 * The TUN device seam (wireguard-go `tun.Device`). `lib/` depends only on this
 * interface; `ffi/linux_tun.ts` implements it for Linux and
 * `test/helpers/memory_tun.ts` in memory.
 *
 * @module
 */

/** A layer-3 TUN device carrying raw IPv4/IPv6 packets (IFF_TUN | IFF_NO_PI). */
export interface TunDevice {
  /** Kernel interface name, e.g. `sstp-out1`. */
  readonly name: string;
  /**
   * IP packets read from the device. Each chunk is one whole packet. Reads are
   * batched: one wake-up drains every queued packet.
   */
  readonly readable: ReadableStream<Uint8Array>;
  /**
   * Optional batched read: resolves with every packet queued at one wake-up
   * (at least one), or an empty array once the device is closed. The data
   * path prefers it to `readable` (one promise per batch, not per packet).
   */
  readBatch?(): Promise<Uint8Array[]>;
  /**
   * Optional: the packets queued right now, without waiting (possibly none).
   * The data path calls it right after writing to the device, because the
   * local stack often answers inside that write (ICMP echo replies, TCP ACKs).
   */
  readAvailable?(): Uint8Array[];
  /**
   * Optional push mode, the data path's first choice: from now on every batch
   * goes to `onPackets` synchronously, inside the wake-up that found it (no
   * promise per batch, no suspended reader per device). `onEnd` runs once
   * when the device closes (no error) or reading fails. Do not use
   * `readable` or `readBatch` after it.
   */
  readPush?(
    onPackets: (batch: Uint8Array[]) => void,
    onEnd: (error?: Error) => void,
  ): TunReadControl;
  /** IP packets to write to the device; each chunk must be one whole packet. */
  readonly writable: WritableStream<Uint8Array>;
  /**
   * Writes a batch of packets synchronously where the implementation can
   * (used by the data path to avoid a promise per packet). Returns how many
   * were written; the rest were dropped (queue full), as a NIC would.
   */
  writePackets(packets: readonly Uint8Array[]): number;
  /** Closes the device (idempotent); pending reads end. */
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
  /** Ends push mode for good (idempotent); `onEnd` is not called. */
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
