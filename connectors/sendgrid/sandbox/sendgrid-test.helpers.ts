// Test support for the SendGrid sandbox specs: an unmodified @sendgrid/client pointed at the sandbox, a call
// helper that turns the SDK's ResponseError back into (status, body, headers), and spec validation of every
// answer. Not a stub: every request goes through the SDK and axios over loopback HTTP.
import { Client } from '@sendgrid/client';
import { SendGridSpecValidator } from './sendgrid-openapi.validator';

export interface SgAnswer {
  status: number;
  body: any;
  headers: Record<string, string>;
}

export function sdkClient(apiKey: string, baseUrl: string): Client {
  const client = new Client();
  client.setApiKey(apiKey); // resets baseUrl to api.sendgrid.com, so set ours afterwards
  client.setDefaultRequest('baseUrl', baseUrl);
  return client;
}

export async function call(
  client: Client,
  req: { method: string; url: string; qs?: Record<string, unknown>; body?: unknown },
): Promise<SgAnswer> {
  try {
    const [res, body] = await client.request(req as any);
    return { status: res.statusCode, body, headers: res.headers as Record<string, string> };
  } catch (e: any) {
    if (typeof e?.code === 'number' && e.response)
      return { status: e.code, body: e.response.body, headers: e.response.headers };
    throw e;
  }
}

/**
 * Calls `method pathTemplate` (with {params} filled in) through the SDK and validates the answer against the
 * spec's schema for that operation and status. `specPath` names the documented operation when the sandbox
 * path differs (the id-less webhook settings path). 429/503 are SendGrid-wide answers the operations do not
 * list; their bodies are checked against the spec's ErrorResponse.
 */
export function specCaller(validator: SendGridSpecValidator, client: () => Client) {
  return async (
    method: string,
    pathTemplate: string,
    opts: {
      params?: Record<string, string>;
      qs?: Record<string, unknown>;
      body?: unknown;
      specPath?: string;
    } = {},
  ): Promise<SgAnswer> => {
    const url = pathTemplate.replace(/\{(\w+)\}/g, (_, k: string) =>
      encodeURIComponent(opts.params?.[k] ?? ''),
    );
    const r = await call(client(), { method, url, qs: opts.qs, body: opts.body });
    if (r.status === 429 || r.status === 503)
      validator.assertComponent('tsg_mc_contacts_v3.json', 'ErrorResponse', r.body);
    else validator.assertResponse(method, opts.specPath ?? pathTemplate, r.status, r.body);
    return r;
  };
}

export async function waitFor<T>(
  fn: () => Promise<T>,
  ok: (v: T) => boolean,
  timeoutMs = 10_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() > until)
      throw new Error(
        `condition not met within ${timeoutMs} ms; last value ${JSON.stringify(v).slice(0, 300)}`,
      );
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function admin(
  baseUrl: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: any }> {
  const res = await fetch(`${baseUrl}/__admin${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}
