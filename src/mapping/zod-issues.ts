// Flattens zod issues into (path, message) pairs, one per unknown key, so each points at its own line.
import type { z } from 'zod';

export function zodProblems(error: z.ZodError): { path: (string | number)[]; message: string }[] {
  const out: { path: (string | number)[]; message: string }[] = [];
  for (const issue of error.issues) {
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path: [...path, key], message: `unknown key "${key}"` });
    } else out.push({ path, message: issue.message });
  }
  return out;
}
