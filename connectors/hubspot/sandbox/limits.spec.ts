// Rate limits and fault injection in the HubSpot sandbox, seen through @hubspot/api-client with its own retry and
// limiter off (the default), so the raw 429/5xx answers and headers reach the test.
import type { Client } from '@hubspot/api-client';
import type { HubSpotSandbox } from './index';
import { admin, sandboxWithClient, sdkError } from './sandbox-test-helpers';

describe('HubSpot sandbox: rate limits and faults', () => {
  let sandbox: HubSpotSandbox;
  let client: Client;

  beforeEach(async () => {
    ({ sandbox, client } = await sandboxWithClient({ count: 20, rateLimit: { max: 10, intervalMs: 1000 } }));
  });
  afterEach(() => sandbox.close());

  it('reports the ten-second budget on normal responses', async () => {
    const res = await client.crm.contacts.basicApi.getPageWithHttpInfo(5);
    expect(res.headers['x-hubspot-ratelimit-max']).toBe('10');
    expect(res.headers['x-hubspot-ratelimit-interval-milliseconds']).toBe('1000');
    expect(res.headers['x-hubspot-ratelimit-remaining']).toBe('9');
    expect(res.headers['x-hubspot-ratelimit-daily']).toBe('250000');
    expect(res.headers['x-hubspot-ratelimit-daily-remaining']).toBe('249999');
  });

  it('answers 429 TEN_SECONDLY_ROLLING with HubSpot body and headers once the window is spent, per token', async () => {
    for (let i = 0; i < 10; i++) await client.crm.contacts.basicApi.getPage(1);
    const err = await sdkError(client.crm.contacts.basicApi.getPage(1));
    expect(err.code).toBe(429);
    expect(err.headers['x-hubspot-ratelimit-remaining']).toBe('0');
    // The SDK's Error model keeps only standard fields, so read the raw body through its generic request too.
    const raw = await client.apiRequest({ method: 'GET', path: '/crm/v3/objects/contacts?limit=1' });
    expect(raw.status).toBe(429);
    const body = await raw.json();
    expect(body).toMatchObject({
      status: 'error',
      errorType: 'RATE_LIMIT',
      policyName: 'TEN_SECONDLY_ROLLING',
    });
    expect(body.message).toContain('ten_secondly_rolling');
    expect(typeof body.correlationId).toBe('string');
    expect(typeof body.groupName).toBe('string');

    // Another token has its own window.
    sandbox.addToken('pat-na1-second');
    const { Client: SdkClient } = await import('@hubspot/api-client');
    const other = new SdkClient({ accessToken: 'pat-na1-second', basePath: sandbox.credentials.basePath });
    await expect(other.crm.contacts.basicApi.getPage(1)).resolves.toBeDefined();

    // The window rolls: after the interval the first token is served again.
    await new Promise((r) => setTimeout(r, 1050));
    await expect(client.crm.contacts.basicApi.getPage(1)).resolves.toBeDefined();
  });

  it('lets the SDK retry recover from TEN_SECONDLY_ROLLING when it is configured to', async () => {
    const { Client: SdkClient } = await import('@hubspot/api-client');
    sandbox.rateLimiter.configure({ max: 2, intervalMs: 300 });
    const retrying = new SdkClient({
      accessToken: sandbox.credentials.accessToken,
      basePath: sandbox.credentials.basePath,
      numberOfApiCallRetries: 2,
    });
    const errSpy = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      await retrying.crm.contacts.basicApi.getPage(1);
      await retrying.crm.contacts.basicApi.getPage(1);
      // Third call is refused, then retried by the SDK after its own back-off (10 s * attempt is its rule; our window is 300 ms).
      const started = Date.now();
      const page = await retrying.crm.contacts.basicApi.getPage(1);
      expect(page.results).toHaveLength(1);
      expect(Date.now() - started).toBeGreaterThanOrEqual(300);
      expect(errSpy).toHaveBeenCalledWith(expect.stringContaining('[429]'));
    } finally {
      errSpy.mockRestore();
    }
  }, 30_000);

  it('injects 429s with the rate-limit body and 5xx with HubSpot error bodies, never on /__admin', async () => {
    sandbox.rateLimiter.configure({ max: 0 });
    await admin(sandbox, 'PUT', '/faults', { rate429: 1 });
    const raw = await client.apiRequest({ method: 'GET', path: '/crm/v3/objects/contacts?limit=1' });
    expect(raw.status).toBe(429);
    expect(await raw.json()).toMatchObject({
      errorType: 'RATE_LIMIT',
      policyName: 'TEN_SECONDLY_ROLLING',
      status: 'error',
    });
    const state = await admin(sandbox, 'GET', '/state');
    expect(state.summary.contacts).toBe(20);

    await admin(sandbox, 'PUT', '/faults', { rate429: 0, rate5xx: 1 });
    const err = await sdkError(client.crm.contacts.basicApi.getPage(1));
    expect(err.code).toBe(500);
    expect(err.body.category).toBe('INTERNAL_ERROR');
    expect(err.body.correlationId).toBeTruthy();

    await admin(sandbox, 'PUT', '/faults', { rate5xx: 0, outageUntil: Date.now() + 60_000 });
    const outage = await sdkError(client.crm.contacts.searchApi.doSearch({ filterGroups: [], limit: 1 }));
    expect(outage.code).toBe(503);
    expect(outage.headers['retry-after']).toBe('5');

    await admin(sandbox, 'PUT', '/faults', { outageUntil: 0, malformedRate: 1 });
    await expect(client.crm.contacts.basicApi.getPage(1)).rejects.toThrow(SyntaxError);

    await admin(sandbox, 'PUT', '/faults', { malformedRate: 0 });
    await expect(client.crm.contacts.basicApi.getPage(1)).resolves.toBeDefined();
  });

  it('limits search separately when asked, answering the SECONDLY policy the SDK recognises', async () => {
    sandbox.rateLimiter.configure({ max: 0 });
    sandbox.searchPerSecond = 2;
    await client.crm.contacts.searchApi.doSearch({ filterGroups: [], limit: 1 });
    await client.crm.contacts.searchApi.doSearch({ filterGroups: [], limit: 1 });
    const raw = await client.apiRequest({
      method: 'POST',
      path: '/crm/v3/objects/contacts/search',
      body: { filterGroups: [], limit: 1 },
    });
    expect(raw.status).toBe(429);
    expect(await raw.json()).toMatchObject({
      policyName: 'SECONDLY',
      message: 'You have reached your secondly limit.',
      errorType: 'RATE_LIMIT',
    });
    // Other endpoints are not affected by the search budget.
    await expect(client.crm.contacts.basicApi.getPage(1)).resolves.toBeDefined();
  });

  it('adds configured latency', async () => {
    await admin(sandbox, 'PUT', '/faults', { latencyMs: 150 });
    const started = Date.now();
    await client.crm.contacts.basicApi.getPage(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });
});
