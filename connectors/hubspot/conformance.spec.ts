// The conformance profile drives what the kit will check; this runs the kit's core steps over it directly.
import type { TestingModule } from '@nestjs/testing';
import {
  type ConformanceHarness,
  type Connector,
  ReadMode,
  WebhookRejection,
  WebhookVerificationError,
  WriteStatus,
} from '../../src/connectors';
import { conformance } from './conformance';
import { bootHubSpot, collect, connectorError } from './hubspot-spec-helpers';

describe('HubSpot conformance profile', () => {
  let moduleRef: TestingModule;
  let connector: Connector;
  let h: ConformanceHarness;

  beforeAll(async () => {
    ({ moduleRef, connector } = await bootHubSpot());
    h = await conformance.start({ count: 300, seed: 11 });
  });
  afterAll(async () => {
    await h.close();
    await moduleRef.close();
  });

  it('checks, reads all, reads exactly the edited ones, writes past the batch limit, verifies webhooks', async () => {
    await connector.check(h.connection);
    expect((await connectorError(connector.check(h.badCredentials))).code).toBe('auth');

    const full = await collect(
      connector.read(h.connection, h.object, null, { mode: ReadMode.Full, pageSize: h.pageSize }),
    );
    expect(full.ids.sort()).toEqual((await h.recordIds()).sort());

    const ids = await h.recordIds();
    const shared = ids.slice(20, 20 + h.pageSize + 10);
    const single = ids.slice(200, 203);
    await h.edit(shared, true);
    await h.edit(single, false);
    const inc = await collect(
      connector.read(h.connection, h.object, full.pages[full.pages.length - 1].cursor, {
        mode: ReadMode.Incremental,
        pageSize: h.pageSize,
      }),
    );
    expect(inc.ids.sort()).toEqual([...shared, ...single].sort());

    const out = await connector.write(
      h.connection,
      h.object,
      h.newRecords(connector.manifest.limits.maxBatchSize + 30),
    );
    expect(out).toHaveLength(130);
    expect(out.every((o) => o.status === WriteStatus.Created && o.externalId)).toBe(true);

    const verify = (v: 'valid' | 'forged' | 'stale' | 'tampered') => async () =>
      connector.webhooks?.verify(h.connection, await h.webhook(v, single));
    await expect(verify('valid')()).resolves.toBeUndefined();
    for (const [v, reason] of [
      ['forged', WebhookRejection.Forged],
      ['stale', WebhookRejection.Stale],
      ['tampered', WebhookRejection.Forged],
    ] as const) {
      await expect(verify(v)()).rejects.toEqual(expect.any(WebhookVerificationError));
      await expect(verify(v)()).rejects.toMatchObject({ reason });
    }
    const events = connector.webhooks?.parse(h.connection, await h.webhook('valid', single)) ?? [];
    expect(events.map((e) => e.externalId)).toEqual(single);
  });
});
