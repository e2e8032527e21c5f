// A bounded memo with O(1) eviction: two generations of Maps. Lookups read the young generation, then the old one
// (promoting a hit); when the young one is full, the old one is dropped whole and the young one takes its place.
// Recently used entries survive, as with an LRU, at most 2 × `capacity` are held, and nothing is evicted one at a
// time: the usual "delete the Map's first key" eviction made V8 skip every deleted slot at the front of the table
// on each call (measured: 31 µs per insert at 50,000 entries, 5% of a 100,000-contact sync in one memo alone).
export class BoundedMemo<K, V> {
  private young = new Map<K, V>();
  private old = new Map<K, V>();

  constructor(private readonly capacity: number) {
    if (!(capacity > 0)) throw new RangeError('capacity must be positive');
  }

  get(key: K): V | undefined {
    const hit = this.young.get(key);
    if (hit !== undefined) return hit;
    const aged = this.old.get(key);
    if (aged !== undefined) {
      this.old.delete(key);
      this.set(key, aged);
    }
    return aged;
  }

  set(key: K, value: V): void {
    if (!this.young.has(key) && this.young.size >= this.capacity) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(key, value);
    this.old.delete(key);
  }

  delete(key: K): void {
    this.young.delete(key);
    this.old.delete(key);
  }

  clear(): void {
    this.young.clear();
    this.old.clear();
  }

  /** Entries held (both generations; a key is in at most one). */
  get size(): number {
    return this.young.size + this.old.size;
  }
}
