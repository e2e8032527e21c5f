// The stored lookup key of a normalized email. Its own file, free of the application's graph: the detection
// thread builds block keys with the same keyer and loads only what it needs.

/** Turns a normalized email into the stored lookup key. Replaced by a keyed blind index when PII encryption is on. */
export abstract class EmailKeyer {
  abstract key(email: string): string;
}
