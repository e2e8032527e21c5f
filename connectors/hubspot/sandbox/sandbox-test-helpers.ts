// Shared setup for the HubSpot sandbox specs: a sandbox on a loopback port and the official SDK pointed at it,
// with the SDK's own retry and limiter left off so raw 429/5xx answers reach the test.
import { Client } from '@hubspot/api-client';
import { type HubSpotSandbox, type HubSpotSandboxOptions, startSandbox } from './index';

export async function sandboxWithClient(
  opts: HubSpotSandboxOptions = {},
): Promise<{ sandbox: HubSpotSandbox; client: Client }> {
  const sandbox = await startSandbox({ seed: 7, ...opts });
  const client = new Client({
    accessToken: sandbox.credentials.accessToken,
    basePath: sandbox.credentials.basePath,
  });
  return { sandbox, client };
}

/** Plain HTTP to the admin surface (never through the SDK). */
export async function admin(
  sandbox: HubSpotSandbox,
  method: string,
  path: string,
  body?: unknown,
): Promise<any> {
  const res = await fetch(`${sandbox.url}/__admin${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`admin ${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

/** The SDK's ApiException carries the HTTP status as `code`; anything else is a test failure. */
export async function sdkError(
  p: Promise<unknown>,
): Promise<{ code: number; body: any; headers: Record<string, string> }> {
  try {
    await p;
  } catch (e) {
    const err = e as { code?: number; body?: unknown; headers?: Record<string, string> };
    if (typeof err.code === 'number') return { code: err.code, body: err.body, headers: err.headers ?? {} };
    throw e;
  }
  throw new Error('expected the SDK call to fail');
}
