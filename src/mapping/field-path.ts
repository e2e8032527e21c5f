// Reading and writing dotted paths ("properties.email", "Account.Name", "custom_fields.w1") in vendor
// records. Paths are split once at compile time; these run per record.
import { ABSENT } from './mapping.types';

/** Reads a nested value: ABSENT when a segment is missing, null when an intermediate object is null. */
export function compileReader(path: string): (record: Record<string, unknown>) => unknown {
  const parts = path.split('.');
  if (parts.length === 1) {
    const key = parts[0];
    return (r) => (Object.prototype.hasOwnProperty.call(r, key) ? r[key] : ABSENT);
  }
  return (r) => {
    let cur: unknown = r;
    for (const key of parts) {
      if (cur === null) return null; // e.g. Salesforce "Account": null: the record has no account
      if (typeof cur !== 'object' || !Object.prototype.hasOwnProperty.call(cur, key)) return ABSENT;
      cur = (cur as Record<string, unknown>)[key];
    }
    return cur === undefined ? ABSENT : cur;
  };
}

/** Reads a flat key (canonical fields are flat even when named "custom.x"). */
export function compileFlatReader(key: string): (record: Record<string, unknown>) => unknown {
  return (r) => (Object.prototype.hasOwnProperty.call(r, key) && r[key] !== undefined ? r[key] : ABSENT);
}

/** Sets a nested value, creating intermediate objects. */
export function setPath(target: Record<string, unknown>, parts: readonly string[], value: unknown): void {
  let cur = target;
  for (let i = 0; i < parts.length - 1; i++) {
    const key = parts[i];
    let next = cur[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) {
      next = {};
      cur[key] = next;
    }
    cur = next as Record<string, unknown>;
  }
  cur[parts[parts.length - 1]] = value;
}

/** Forbidden as path segments: they would reach Object.prototype when a record is rebuilt. */
export const UNSAFE_SEGMENTS = new Set(['__proto__', 'prototype', 'constructor']);
