// Test helper: bind a built-in (or given registry's) transform and run it on one value.
import { TransformRegistry } from './transform.registry';
import type { MappingDirection } from './transform.types';

export function transform(
  name: string,
  args?: unknown,
  record: Record<string, unknown> = {},
  registry = new TransformRegistry(),
  direction: MappingDirection = 'inbound',
): (value: unknown) => unknown {
  const bound = registry.bind(name, args);
  if (!bound.ok) throw new Error(bound.problems.map((p) => p.message).join('; '));
  return (value) => bound.run(value, { direction, get: (p) => record[p] });
}
