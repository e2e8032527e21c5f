import { comparePriority, mergeFields, type IncomingChange } from './merge-rules';

const T1 = '2026-01-01T10:00:00.000Z';
const T2 = '2026-01-01T11:00:00.000Z';
const T0 = '2026-01-01T09:00:00.000Z';

function change(
  connection: string,
  at: string,
  fields: IncomingChange['fields'],
  extra: Partial<IncomingChange> = {},
) {
  return { connection, sourceTimestamp: at, fields, ...extra };
}

describe('merge rules', () => {
  const base = mergeFields(null, change('sf', T1, { firstName: 'Ada', email: 'ada@example.com' }));

  it('creates every non-empty field with its provenance on first sight', () => {
    expect(base.fields).toEqual({ firstName: 'Ada', email: 'ada@example.com' });
    expect(base.provenance.firstName).toEqual({ connection: 'sf', at: T1 });
    expect(base.changes).toEqual([
      { field: 'firstName', before: null, after: 'Ada' },
      { field: 'email', before: null, after: 'ada@example.com' },
    ]);
  });

  it('lets a newer source timestamp win', () => {
    const r = mergeFields(base, change('hs', T2, { firstName: 'Augusta' }));
    expect(r.fields.firstName).toBe('Augusta');
    expect(r.provenance.firstName).toEqual({ connection: 'hs', at: T2 });
    expect(r.changes).toEqual([{ field: 'firstName', before: 'Ada', after: 'Augusta' }]);
  });

  it('never lets an older timestamp overwrite, from the same or another source', () => {
    expect(mergeFields(base, change('sf', T0, { firstName: 'Old' })).changes).toEqual([]);
    expect(mergeFields(base, change('hs', T0, { firstName: 'Old' })).fields.firstName).toBe('Ada');
  });

  it('compares instants, not strings, across offsets', () => {
    const r = mergeFields(base, change('hs', '2026-01-01T10:30:00.000+01:00', { firstName: 'Earlier' }));
    expect(r.changes).toEqual([]);
    const r2 = mergeFields(base, change('hs', '2026-01-01T10:30:00.000-01:00', { firstName: 'Later' }));
    expect(r2.fields.firstName).toBe('Later');
  });

  it('breaks equal timestamps by connection priority, overall and per field', () => {
    const priority = { default: ['hs', 'sf'], fields: { email: ['sf', 'hs'] } };
    const r = mergeFields(
      base,
      change('hs', T1, { firstName: 'Augusta', email: 'aug@example.com' }),
      priority,
    );
    expect(r.fields.firstName).toBe('Augusta');
    expect(r.fields.email).toBe('ada@example.com');
  });

  it('ranks unlisted connections below listed ones and deterministically among themselves', () => {
    expect(comparePriority('x', 'sf', 'zz', { default: ['sf'] })).toBeLessThan(0);
    expect(comparePriority('x', 'aa', 'bb', { default: [] })).toBeLessThan(0);
    const r = mergeFields(base, change('zz', T1, { firstName: 'Zed' }), { default: ['sf'] });
    expect(r.changes).toEqual([]);
  });

  it('lets the same source re-send a different value at the same timestamp', () => {
    expect(mergeFields(base, change('sf', T1, { firstName: 'Ada L.' })).fields.firstName).toBe('Ada L.');
  });

  it('within one connection, gives equal timestamps to the higher record id: replaying two records changes nothing', () => {
    // One customer merged from two records of one source, changed in the same second with different values.
    const a = change('sf', T1, { firstName: 'Ada', phone: '+44 20 7946 0000' }, { record: '003A' });
    const b = change('sf', T1, { firstName: 'Augusta', phone: '+44 20 7946 0000' }, { record: '003B' });
    const once = mergeFields(mergeFields(null, a), b);
    expect(once.fields).toEqual({ firstName: 'Augusta', phone: '+44 20 7946 0000' });
    expect(once.provenance).toEqual({
      firstName: { connection: 'sf', at: T1, record: '003B' },
      phone: { connection: 'sf', at: T1, record: '003B' },
    });
    // Read again, in either order: no change, no provenance movement, and the same outcome.
    for (const replay of [a, b]) {
      const r = mergeFields(once, replay);
      expect(r.changes).toEqual([]);
      expect(r.provenanceAdvanced).toBe(false);
    }
    const reversed = mergeFields(mergeFields(null, b), a);
    expect(reversed.fields).toEqual(once.fields);
    expect(reversed.provenance).toEqual(once.provenance);
    // The same record re-sending a different value at the same timestamp still wins.
    const again = mergeFields(once, { ...b, fields: { firstName: 'Augusta Ada' } });
    expect(again.fields.firstName).toBe('Augusta Ada');
  });

  it('never erases a value with null or empty unless the field is clearable', () => {
    for (const empty of [null, '', '   ']) {
      expect(mergeFields(base, change('sf', T2, { firstName: empty })).changes).toEqual([]);
    }
    const r = mergeFields(base, change('sf', T2, { firstName: null }, { clearable: ['firstName'] }));
    expect(r.fields).not.toHaveProperty('firstName');
    expect(r.changes).toEqual([{ field: 'firstName', before: 'Ada', after: null }]);
    expect(r.provenance.firstName).toEqual({ connection: 'sf', at: T2 });
  });

  it('does not erase with a clearable empty value that is older than the stored one', () => {
    expect(
      mergeFields(base, change('sf', T0, { firstName: '' }, { clearable: ['firstName'] })).changes,
    ).toEqual([]);
  });

  it('treats a replay as a no-op: no changes and no provenance movement', () => {
    const replay = mergeFields(base, change('sf', T1, { firstName: 'Ada', email: 'ada@example.com' }));
    expect(replay.changes).toEqual([]);
    expect(replay.provenanceAdvanced).toBe(false);
    expect(replay.fields).toEqual(base.fields);
  });

  it('advances provenance without a change when the same value arrives newer, guarding against older writes', () => {
    const same = mergeFields(base, change('hs', T2, { firstName: 'Ada' }));
    expect(same.changes).toEqual([]);
    expect(same.provenanceAdvanced).toBe(true);
    expect(same.provenance.firstName).toEqual({ connection: 'hs', at: T2 });
    const between = mergeFields(same, change('zd', '2026-01-01T10:30:00.000Z', { firstName: 'Stale' }));
    expect(between.changes).toEqual([]);
  });

  it('uses per-field source timestamps when given', () => {
    const r = mergeFields(
      base,
      change('hs', T2, { firstName: 'A', email: 'new@example.com' }, { fieldTimestamps: { firstName: T0 } }),
    );
    expect(r.fields.firstName).toBe('Ada');
    expect(r.fields.email).toBe('new@example.com');
  });

  it('rejects an unparseable source timestamp instead of guessing', () => {
    expect(() => mergeFields(base, change('sf', 'yesterday', { firstName: 'X' }))).toThrow(
      /invalid source timestamp/,
    );
  });

  it('does not mutate its inputs', () => {
    const snapshot = JSON.stringify(base);
    mergeFields(base, change('hs', T2, { firstName: 'Changed' }));
    expect(JSON.stringify(base)).toBe(snapshot);
  });
  describe('opt-outs (emailConsent)', () => {
    const T3 = '2026-01-01T12:00:00.000Z';
    const optedOut = mergeFields(
      mergeFields(null, change('sf', T0, { emailConsent: 'subscribed' }, { record: 'B' })),
      change('sf', T1, { emailConsent: 'unsubscribed' }, { record: 'A' }),
    );

    it('are not lifted by a newer value from another record or connection', () => {
      expect(optedOut.fields.emailConsent).toBe('unsubscribed');
      // Record B edited later (any field): its unchanged "subscribed" is newer, and still refused.
      const r = mergeFields(
        optedOut,
        change('sf', T2, { emailConsent: 'subscribed', firstName: 'B' }, { record: 'B' }),
      );
      expect(r.fields).toEqual({ emailConsent: 'unsubscribed', firstName: 'B' });
      expect(r.changes).toEqual([{ field: 'firstName', before: null, after: 'B' }]);
      expect(
        mergeFields(optedOut, change('hs', T2, { emailConsent: 'subscribed' })).fields.emailConsent,
      ).toBe('unsubscribed');
    });

    it('are lifted by the record that holds them, when newer, and not by a replay of its older state', () => {
      const lifted = mergeFields(optedOut, change('sf', T2, { emailConsent: 'subscribed' }, { record: 'A' }));
      expect(lifted.fields.emailConsent).toBe('subscribed');
      expect(lifted.provenance.emailConsent).toEqual({ connection: 'sf', at: T2, record: 'A' });
      expect(
        mergeFields(lifted, change('sf', T1, { emailConsent: 'unsubscribed' }, { record: 'A' })).changes,
      ).toEqual([]);
      // An event stream (no record) lifts its own opt-out.
      const viaEvent = mergeFields(
        mergeFields(null, change('sg', T1, { emailConsent: 'unsubscribed' })),
        change('sg', T2, { emailConsent: 'subscribed' }),
      );
      expect(viaEvent.fields.emailConsent).toBe('subscribed');
    });

    it('win over a newer opposite value from another source, whichever arrives first', () => {
      const subscribed = mergeFields(null, change('sf', T3, { emailConsent: 'subscribed' }, { record: 'B' }));
      const older = change('sf', T1, { emailConsent: 'unsubscribed' }, { record: 'A' });
      const r = mergeFields(subscribed, older);
      expect(r.fields.emailConsent).toBe('unsubscribed');
      expect(r.changes).toEqual([{ field: 'emailConsent', before: 'subscribed', after: 'unsubscribed' }]);
      // The other order gives the same customer, and replaying either changes nothing.
      const other = mergeFields(
        mergeFields(null, older),
        change('sf', T3, { emailConsent: 'subscribed' }, { record: 'B' }),
      );
      expect(other.fields.emailConsent).toBe('unsubscribed');
      expect(mergeFields(r, older).changes).toEqual([]);
      expect(
        mergeFields(r, change('sf', T3, { emailConsent: 'subscribed' }, { record: 'B' })).changes,
      ).toEqual([]);
    });

    it('leave other fields to the timestamps', () => {
      const r = mergeFields(optedOut, change('hs', T0, { firstName: 'Older' }));
      expect(r.fields.firstName).toBe('Older');
    });
  });
});
