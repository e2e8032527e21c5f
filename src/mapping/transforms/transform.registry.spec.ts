import { z } from 'zod';
import { BUILTIN_TRANSFORMS, TransformRegistry } from './transform.registry';
import { transform } from './transform-test.helper';
import { TransformError } from './transform.types';

describe('TransformRegistry', () => {
  it('holds the closed set of built-ins', () => {
    expect(new TransformRegistry().names()).toEqual(
      [
        'boolean',
        'constant',
        'countryCode',
        'countryName',
        'decimal',
        'defaultIfEmpty',
        'e164',
        'emptyToNull',
        'enum',
        'integer',
        'isoDate',
        'isoDateTime',
        'join',
        'lowercase',
        'number',
        'splitName',
        'titleCase',
        'trim',
        'uppercase',
      ].sort(),
    );
    expect(BUILTIN_TRANSFORMS).toHaveLength(19);
  });

  it('reports unknown names and bad args without throwing', () => {
    const r = new TransformRegistry();
    expect(r.bind('e165', undefined)).toEqual({
      ok: false,
      problems: [{ path: [], message: 'unknown transform "e165"' }],
    });
    const bad = r.bind('isoDateTime', { epoch: 'us' });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.problems[0].path).toEqual(['epoch']);
  });

  it('lets a connector register its own transform with an args schema', () => {
    const r = new TransformRegistry().register(
      'salesforce.picklist',
      (v, args: { values: string[] }) => {
        if (typeof v !== 'string' || !args.values.includes(v))
          throw new TransformError(`"${String(v)}" is not a picklist value`);
        return v;
      },
      z.object({ values: z.array(z.string()) }),
    );
    expect(transform('salesforce.picklist', { values: ['Web', 'Event'] }, {}, r)('Web')).toBe('Web');
    expect(() => transform('salesforce.picklist', { values: ['Web'] }, {}, r)('Fax')).toThrow(
      'not a picklist value',
    );
    expect(() => transform('salesforce.picklist', { values: 'Web' }, {}, r)).toThrow(/salesforce.picklist/);
  });

  it('gives a registered transform without a schema no args, and read access to the record', () => {
    const r = new TransformRegistry().register(
      'hubspot.ownerName',
      (v, _a, ctx) => `${String(v)}@${String(ctx.get('portal'))}`,
    );
    expect(transform('hubspot.ownerName', undefined, { portal: 42 }, r)('7')).toBe('7@42');
    expect(() => transform('hubspot.ownerName', { x: 1 }, {}, r)).toThrow('takes no arguments');
  });

  it('refuses duplicate and malformed names', () => {
    const r = new TransformRegistry();
    expect(() => r.register('trim', (v) => v)).toThrow('already registered');
    expect(() => r.register('my transform', (v) => v)).toThrow('invalid transform name');
    r.register('acme.clean', (v) => v);
    expect(() => r.register('acme.clean', (v) => v)).toThrow('already registered');
  });

  it('keeps registrations per instance', () => {
    new TransformRegistry().register('acme.only', (v) => v);
    expect(new TransformRegistry().has('acme.only')).toBe(false);
  });
});
