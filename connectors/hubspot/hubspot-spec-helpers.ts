// Shared setup for the HubSpot connector specs: the connector as the registry hands it out, a sandbox on loopback
// and connections against it. Nothing here stubs the SDK; every call goes over HTTP to the sandbox.
import { Test, type TestingModule } from '@nestjs/testing';
import {
  type ConnectionContext,
  ConnectorError,
  ConnectorRegistry,
  type Connector,
  type ReadPage,
} from '../../src/connectors';
import { ConnectorsModule } from '../../src/connectors/connectors.module';
import { MappingModule } from '../../src/mapping';

export async function bootHubSpot(): Promise<{ moduleRef: TestingModule; connector: Connector }> {
  const moduleRef = await Test.createTestingModule({
    imports: [MappingModule.forRoot(), ConnectorsModule.forRoot({ only: ['hubspot'] })],
  }).compile();
  await moduleRef.init();
  return { moduleRef, connector: moduleRef.get(ConnectorRegistry).get('hubspot') };
}

let connections = 0;

/** A fresh connection id (own client cache entry); `token` gives it its own rate-limit window too. */
export function connectionFor(
  sandbox: { url: string; credentials: Record<string, string> },
  opts: { token?: string; settings?: Record<string, unknown> } = {},
): ConnectionContext {
  return {
    id: `hubspot-spec-${++connections}`,
    connector: 'hubspot',
    baseUrl: sandbox.url,
    credentials: { ...sandbox.credentials, ...(opts.token ? { accessToken: opts.token } : {}) },
    settings: opts.settings ?? {},
  };
}

export async function collect(
  pages: AsyncIterable<ReadPage>,
): Promise<{ pages: ReadPage[]; ids: string[]; deleted: string[] }> {
  const out: ReadPage[] = [];
  for await (const p of pages) out.push(p);
  return {
    pages: out,
    ids: out.flatMap((p) => p.records.map((r) => r.id)),
    deleted: out.flatMap((p) => p.deleted),
  };
}

export async function connectorError(p: Promise<unknown>): Promise<ConnectorError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ConnectorError) return e;
    throw e;
  }
  throw new Error('expected a ConnectorError');
}
