// The conformance kit: one set of checks that runs over any connector folder through its ConformanceProfile,
// with no per-connector code. conformance.spec.ts calls it for every folder under connectors/; the generator's
// spec calls it for a freshly generated connector. It only drives the public contract and the harness.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Test, type TestingModule } from '@nestjs/testing';
import {
  type Connector,
  ConnectorCapability,
  ConnectorError,
  ConnectorErrorCode,
  ConnectorRegistry,
  type ConformanceHarness,
  type ConformanceProfile,
  InProcessRateLimiter,
  RateLimiter,
  type ReadPage,
  ReadMode,
  type VendorRecord,
  WebhookRejection,
  WebhookVerificationError,
  type WebhookVariant,
  WriteStatus,
} from '../../src/connectors';
import { ConnectorsModule } from '../../src/connectors/connectors.module';
import { checkRoundTrip, MappingModule, MappingRegistry } from '../../src/mapping';

export const CONNECTORS_DIR = path.resolve(__dirname, '..', '..', 'connectors');
/** Prefix of connectors the generator spec creates and removes; the main suite leaves them to that spec. */
export const GENERATED_PREFIX = 'zz-gen-';

/** Every connector folder (a directory under connectors/), sorted; `includeGenerated` for the generator spec. */
export function connectorFolders(dir = CONNECTORS_DIR, includeGenerated = false): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && !d.name.startsWith('.'))
    .map((d) => d.name)
    .filter((id) => includeGenerated || !id.startsWith(GENERATED_PREFIX))
    .sort();
}

export function conformanceFile(id: string, dir = CONNECTORS_DIR): string | undefined {
  return ['.ts', '.js'].map((ext) => path.join(dir, id, `conformance${ext}`)).find((f) => fs.existsSync(f));
}

export async function loadProfile(id: string): Promise<ConformanceProfile> {
  const file = conformanceFile(id);
  if (!file)
    throw new Error(`connectors/${id}/ has no conformance.ts exporting \`conformance: ConformanceProfile\``);
  const mod = (await import(file)) as { conformance?: ConformanceProfile };
  if (!mod.conformance || typeof mod.conformance.start !== 'function')
    throw new Error(`connectors/${id}/conformance.ts does not export \`conformance: ConformanceProfile\``);
  return mod.conformance;
}

export interface ConformanceRun {
  moduleRef: TestingModule;
  connector: Connector;
  harness: ConformanceHarness;
  close(): Promise<void>;
}

/** Boots the connector the way the app does (discovery + mappings) and starts its sandbox harness. */
export async function startConformance(id: string, opts: { seed?: number } = {}): Promise<ConformanceRun> {
  const profile = await loadProfile(id);
  if (profile.connectorId !== id)
    throw new Error(`connectors/${id}/conformance.ts declares connectorId "${profile.connectorId}"`);
  // The in-process limiter: the kit checks the connector, not how a deployment shares its rate budget.
  const moduleRef = await Test.createTestingModule({
    imports: [MappingModule.forRoot(), ConnectorsModule.forRoot({ only: [id] })],
  })
    .overrideProvider(RateLimiter)
    .useClass(InProcessRateLimiter)
    .compile();
  await moduleRef.init();
  try {
    const connector = moduleRef.get(ConnectorRegistry).get(id);
    // Probe page size first: the seed must span several pages and leave room for a mass edit over a boundary.
    const seed = opts.seed ?? 7;
    const probe = await profile.start({ count: 1, seed });
    const pageSize = probe.pageSize;
    await probe.close();
    const harness = await profile.start({ count: seedCount(pageSize), seed });
    return {
      moduleRef,
      connector,
      harness,
      close: async () => {
        await harness.close();
        await moduleRef.close();
      },
    };
  } catch (e) {
    await moduleRef.close();
    throw e;
  }
}

/** Three pages and a bit: small, but a mass edit of 1.5 pages still crosses a boundary. */
export function seedCount(pageSize: number): number {
  return Math.max(3 * pageSize + 5, 30);
}

export async function collect(pages: AsyncIterable<ReadPage>): Promise<{
  pages: ReadPage[];
  records: VendorRecord[];
  ids: string[];
  deleted: string[];
  cursor: string | null;
}> {
  const out: ReadPage[] = [];
  for await (const p of pages) out.push(p);
  const records = out.flatMap((p) => p.records);
  return {
    pages: out,
    records,
    ids: records.map((r) => r.id),
    deleted: out.flatMap((p) => p.deleted),
    cursor: out.length ? out[out.length - 1].cursor : null,
  };
}

export async function connectorError(p: Promise<unknown>): Promise<ConnectorError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ConnectorError) return e;
    throw new Error(
      `expected a ConnectorError, got ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`,
    );
  }
  throw new Error('expected a ConnectorError, but the call succeeded');
}

const sorted = (ids: string[]): string[] => [...ids].sort();

/** Why each broken delivery must be refused; a tampered body breaks the signature, so it reads as forged. */
const EXPECTED_REJECTION: Record<Exclude<WebhookVariant, 'valid'>, WebhookRejection> = {
  forged: WebhookRejection.Forged,
  stale: WebhookRejection.Stale,
  tampered: WebhookRejection.Forged,
};

/**
 * Registers the whole conformance suite for connector `id` inside the caller's describe block. Steps share one
 * sandbox and run in order (the incremental read continues from the full read's cursor); the 429 check runs last
 * because a connector rightly pauses its rate limiter after one.
 */
export function defineConformanceSuite(id: string): void {
  let run: ConformanceRun | undefined;
  let full: Awaited<ReturnType<typeof collect>> | undefined;

  const ctx = (): ConformanceRun => {
    if (!run) throw new Error(`conformance harness for "${id}" did not start`);
    return run;
  };

  beforeAll(async () => {
    run = await startConformance(id);
  });
  afterAll(async () => {
    if (!run) return;
    // Faults must never leak into another suite sharing the process.
    run.harness.sandbox.faults.reset();
    await run.close();
  });

  it('check succeeds, and bad credentials fail with code auth', async () => {
    const { connector, harness: h } = ctx();
    await expect(connector.check(h.connection)).resolves.toBeUndefined();
    expect((await connectorError(connector.check(h.badCredentials))).code).toBe(ConnectorErrorCode.Auth);
  });

  it('declares its objects and the kit object', () => {
    const { connector, harness: h, moduleRef } = ctx();
    expect(connector.manifest.id).toBe(id);
    expect(connector.manifest.objects).toContain(h.object);
    expect(connector.manifest.limits.maxBatchSize).toBeGreaterThan(0);
    for (const object of connector.manifest.objects)
      expect(moduleRef.get(MappingRegistry).has(id, object)).toBe(true);
  });

  it('a full read returns exactly the seeded records', async () => {
    const { connector, harness: h } = ctx();
    expect(connector.manifest.capabilities).toContain(ConnectorCapability.FullRead);
    full = await collect(
      connector.read(h.connection, h.object, null, { mode: ReadMode.Full, pageSize: h.pageSize }),
    );
    expect(full.pages.length).toBeGreaterThan(1); // paging was exercised
    expect(sorted(full.ids)).toEqual(sorted(await h.recordIds()));
    expect(full.cursor).not.toBeNull();
  });

  it('an incremental read from the saved cursor returns exactly the edited records, across a shared-timestamp page boundary', async () => {
    const { connector, harness: h } = ctx();
    if (!connector.manifest.capabilities.includes(ConnectorCapability.IncrementalRead)) {
      // Not a skip: a connector without incremental reads must not claim them.
      expect(connector.manifest.capabilities).not.toContain(ConnectorCapability.IncrementalRead);
      return;
    }
    if (!full) throw new Error('the full read step did not run');
    const ids = await h.recordIds();
    const massCount = h.pageSize + Math.ceil(h.pageSize / 2);
    const shared = ids.slice(1, 1 + massCount);
    const single = ids.slice(1 + massCount, 4 + massCount);
    expect(single).toHaveLength(3);
    await h.edit(single.slice(0, 1), false);
    await h.edit(shared, true);
    await h.edit(single.slice(1), false);
    const inc = await collect(
      connector.read(h.connection, h.object, full.cursor, {
        mode: ReadMode.Incremental,
        pageSize: h.pageSize,
      }),
    );
    expect(sorted(inc.ids)).toEqual(sorted([...shared, ...single]));
    // Re-reporting a record deleted earlier is harmless (deletes are idempotent); calling a live one deleted is not.
    const live = new Set(await h.recordIds());
    expect(inc.deleted.filter((x) => live.has(x))).toEqual([]);
  });

  it('a write larger than maxBatchSize, batched as the engine does, gives every record an outcome and an id', async () => {
    const { connector, harness: h } = ctx();
    const max = connector.manifest.limits.maxBatchSize;
    const items = h.newRecords(max + 1);
    const outcomes = [
      ...(await connector.write(h.connection, h.object, items.slice(0, max))),
      ...(await connector.write(h.connection, h.object, items.slice(max))),
    ];
    expect(outcomes.map((o) => o.key)).toEqual(items.map((i) => i.key));
    const failed = outcomes.filter((o) => o.status === WriteStatus.Failed);
    expect(failed).toEqual([]);
    expect(outcomes.every((o) => typeof o.externalId === 'string' && o.externalId.length > 0)).toBe(true);
    const written = outcomes.map((o) => o.externalId as string);
    expect(new Set(written).size).toBe(written.length);
    const live = new Set(await h.recordIds());
    expect(written.filter((x) => !live.has(x))).toEqual([]);
  });

  it('a 5xx surfaces as temporary', async () => {
    const { connector, harness: h } = ctx();
    h.sandbox.faults.configure({ rate5xx: 1 });
    try {
      const err = await connectorError(connector.check(h.connection));
      expect(err.code).toBe(ConnectorErrorCode.Temporary);
    } finally {
      h.sandbox.faults.reset();
    }
  });

  it('a valid webhook verifies and parses; forged, stale and tampered ones are refused with their reason', async () => {
    const { connector, harness: h } = ctx();
    if (!connector.manifest.capabilities.includes(ConnectorCapability.Webhooks)) {
      expect(connector.webhooks).toBeUndefined();
      return;
    }
    const handler = connector.webhooks;
    if (!handler) throw new Error('manifest declares webhooks but the connector has no webhook handler');
    const ids = (await h.recordIds()).slice(0, 2);
    const valid = await h.webhook('valid', ids);
    expect(() => handler.verify(h.connection, valid)).not.toThrow();
    const events = handler.parse(h.connection, valid);
    expect(events.length).toBeGreaterThan(0);
    for (const e of events) {
      expect(typeof e.eventId).toBe('string');
      expect(e.eventId.length).toBeGreaterThan(0);
      expect(Number.isFinite(Date.parse(e.occurredAt))).toBe(true);
    }
    for (const variant of ['forged', 'stale', 'tampered'] as const) {
      const req = await h.webhook(variant, ids);
      let thrown: unknown;
      try {
        handler.verify(h.connection, req);
      } catch (e) {
        thrown = e;
      }
      expect({ variant, error: thrown instanceof WebhookVerificationError }).toEqual({
        variant,
        error: true,
      });
      expect({ variant, reason: (thrown as WebhookVerificationError).reason }).toEqual({
        variant,
        reason: EXPECTED_REJECTION[variant],
      });
    }
  });

  it('mappings round-trip: vendor -> canonical -> vendor keeps every mapped field of records read from the sandbox', () => {
    const { moduleRef, harness: h } = ctx();
    if (!full) throw new Error('the full read step did not run');
    const mapping = moduleRef.get(MappingRegistry).get(id, h.object);
    // Seeded data is deliberately messy: a record whose value the mapping rejects (an invalid email) is
    // quarantined by the engine, so it is reported, not round-tripped.
    let clean = 0;
    const problems: { id: string; lost: string[]; drift: unknown[] }[] = [];
    for (const r of full.records) {
      const report = checkRoundTrip(mapping, r.data);
      if (report.issues.length > 0) continue;
      clean++;
      if (report.lost.length || report.drift.length)
        problems.push({ id: r.id, lost: report.lost, drift: report.drift });
    }
    expect(problems).toEqual([]);
    expect(clean).toBeGreaterThan(full.records.length / 2);
  });

  it('a 429 surfaces as rate-limited with its retry-after', async () => {
    const { connector, harness: h } = ctx();
    h.sandbox.faults.configure({ rate429: 1 });
    try {
      const err = await connectorError(connector.check(h.connection));
      expect(err.code).toBe(ConnectorErrorCode.RateLimited);
      expect(typeof err.retryAfterMs).toBe('number');
      expect(err.retryAfterMs).toBeGreaterThanOrEqual(0);
    } finally {
      h.sandbox.faults.reset();
    }
  });
}
