/** Offsets of each partition of some topics, `topic/partition` → offset. */
export type OffsetSnapshot = ReadonlyMap<string, bigint>;
