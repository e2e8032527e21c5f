// A vendor's search index trailing its writes, for sandboxes whose vendor documents such a lag (HubSpot: seconds;
// SendGrid: minutes). After a write, search keeps seeing the record as it was indexed last (or not at all, for a
// new one) until `lagMs` has passed on the vendor's clock; reads by id are never behind. 0 (the default) = at once.

export class SearchIndexLag<K, V> {
  lagMs = 0;
  /** Records written but not indexed yet: the version search still sees (null: none) and when the write lands. */
  private readonly unindexed = new Map<K, { indexed: V | null; visibleAt: number }>();

  /** `clock`: the vendor's clock (ms), the one its write timestamps come from. */
  constructor(private readonly clock: () => number) {}

  /**
   * Keeps the version search saw before this write (`before`, null for a new record) until the write is indexed,
   * `lagMs` after `at`. Call it after the write, with a snapshot from before it.
   */
  written(id: K, before: V | null, at: number): void {
    const pending = this.unindexed.get(id);
    if (this.lagMs <= 0 && !pending) return;
    const visibleAt = Math.max(at + this.lagMs, pending?.visibleAt ?? 0);
    this.unindexed.set(id, { indexed: pending ? pending.indexed : before, visibleAt });
  }

  /** The version of a record search sees now: the record itself once its last write is indexed, else the one before. */
  view(id: K, current: V): V | null {
    const pending = this.unindexed.get(id);
    if (!pending) return current;
    if (this.clock() >= pending.visibleAt) {
      this.unindexed.delete(id);
      return current;
    }
    return pending.indexed;
  }

  /**
   * Whether some write still waits for the index (search answers then change with time alone). Writes already
   * indexed, and records `exists` says are gone, are dropped first.
   */
  pending(exists: (id: K) => boolean = () => true): boolean {
    const now = this.clock();
    for (const [id, p] of this.unindexed) if (p.visibleAt <= now || !exists(id)) this.unindexed.delete(id);
    return this.unindexed.size > 0;
  }

  /** A record removed for good: nothing of it is waiting any more. */
  forget(id: K): void {
    this.unindexed.delete(id);
  }

  /** Indexes every pending write now. */
  flush(): void {
    this.unindexed.clear();
  }
}
