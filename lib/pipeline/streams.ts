/**
 * The data path's stages as Web Streams, for tools and tests that want to
 * compose them (`pipeThrough`): thin, batch-granular wrappers over the same
 * single implementation the runner calls directly ({@linkcode SstpFramer},
 * {@linkcode DataPlane}). The runner itself does not use them: each stream
 * stage adds promise hops per chunk, which the push path avoids for latency
 * (docs/data_path.md).
 *
 * ```
 * IP batches ─encapsulateStream─▶ SSTP bytes ─sstpPacketStream─▶ SSTP packets ─ipPacketStream─▶ IP batches
 * ```
 *
 * @module
 */
import { SstpFramer } from "../sstp/framer.ts";
import type { SstpPacket } from "../sstp/packet.ts";
import type { DataPlane, DropReason } from "../tunnel/data_plane.ts";

/** SSTP bytes in any chunking → the whole SSTP packets each chunk completes (one array per chunk). */
export function sstpPacketStream(): TransformStream<Uint8Array, SstpPacket[]> {
  const framer = new SstpFramer();
  return new TransformStream({
    transform(chunk, controller) {
      const out: SstpPacket[] = [];
      framer.pushEach(chunk, (p) => out.push(p));
      if (out.length > 0) controller.enqueue(out);
    },
  });
}

/** Where {@linkcode ipPacketStream} sends what is not an IP packet for the TUN device. */
export interface IpPacketStreamOptions {
  /** SSTP control messages and non-IP PPP frames (the engine's input). */
  onControl?(packet: SstpPacket): void;
  /** IP frames the data plane dropped. */
  onDrop?(reason: DropReason): void;
}

/** SSTP packets → the IP packets among them (one batch per input batch), through `plane.decapsulate`. */
export function ipPacketStream(
  plane: DataPlane,
  options: IpPacketStreamOptions = {},
): TransformStream<SstpPacket[], Uint8Array[]> {
  return new TransformStream({
    transform(packets, controller) {
      const out: Uint8Array[] = [];
      for (const p of packets) {
        if (p.kind === "control") {
          options.onControl?.(p);
          continue;
        }
        const r = plane.decapsulate(p.data);
        if (r.kind === "ip4" || r.kind === "ip6") out.push(r.packet);
        else if (r.kind === "drop") options.onDrop?.(r.reason);
        else options.onControl?.(p);
      }
      if (out.length > 0) controller.enqueue(out);
    },
  });
}

/** IP batches → SSTP data packets, one buffer per batch, through `plane.encapsulate`. */
export function encapsulateStream(plane: DataPlane): TransformStream<Uint8Array[], Uint8Array> {
  return new TransformStream({
    transform(batch, controller) {
      const framed = plane.encapsulate(batch);
      if (framed.packets > 0) controller.enqueue(framed.bytes);
    },
  });
}
