import { timeOrderedUuid } from './ids';

describe('timeOrderedUuid', () => {
  it('is a version-7, RFC 9562 variant UUID carrying its millisecond timestamp', () => {
    const ms = Date.parse('2026-11-23T05:00:00.123Z');
    const id = timeOrderedUuid(ms, 'ns', 'a');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(ms);
  });

  it('sorts later ids after earlier ones, whatever their names', () => {
    const ids = Array.from({ length: 200 }, (_, i) =>
      timeOrderedUuid(1_700_000_000_000 + i, 'ns', `n${199 - i}`),
    );
    expect([...ids].sort()).toEqual(ids);
  });

  it('differs by name within one millisecond and repeats for the same inputs', () => {
    const ms = 1_700_000_000_000;
    const ids = new Set(Array.from({ length: 1000 }, (_, i) => timeOrderedUuid(ms, 'ns', `name-${i}`)));
    expect(ids.size).toBe(1000);
    expect(timeOrderedUuid(ms, 'ns', 'x')).toBe(timeOrderedUuid(ms, 'ns', 'x'));
    expect(timeOrderedUuid(ms, 'ns', 'x')).not.toBe(timeOrderedUuid(ms, 'other', 'x'));
  });
});
