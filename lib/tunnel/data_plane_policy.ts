/**
 * A server session's inbound checks as plain data: the source check (the
 * client's address and the prefixes routed to it) and the upload policer
 * (the upload half of the profile's `rate-limit`). The session builds the
 * spec once, at link-up; the main thread's data plane and a data-plane
 * Worker (which receives it as a message, where class instances do not
 * cross) both build their checks from it with {@linkcode buildDataPlanePolicy},
 * so the two data paths apply the same checks.
 *
 * @module
 */
import type { DataPlanePolicy } from "./data_plane.ts";
import { SourceFilter } from "./source_filter.ts";
import { TokenBucket, type TokenBucketOptions } from "./token_bucket.ts";

/** What {@linkcode buildDataPlanePolicy} builds from; an absent member is off. */
export interface DataPlanePolicySpec {
  /** Source check: the address IPCP assigned and the prefixes routed to the client. */
  source?: { assigned: string; routes: string[] };
  /** Upload policer. */
  upload?: TokenBucketOptions;
}

/**
 * The checks of `spec`, new (a policer starts with a full bucket).
 *
 * @throws {TypeError | RangeError} for an address, prefix or rate that is not valid.
 */
export function buildDataPlanePolicy(spec: DataPlanePolicySpec): DataPlanePolicy {
  return {
    sourceCheck: spec.source === undefined
      ? undefined
      : new SourceFilter(spec.source.assigned, spec.source.routes),
    uploadPolicer: spec.upload === undefined ? undefined : new TokenBucket(spec.upload),
  };
}
