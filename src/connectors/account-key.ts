// Names the vendor account a connection acts on, without holding its secret: connectors derive it from what
// identifies the account (an API key, a token, an org's instance), hashed.
import { createHash } from 'node:crypto';

export function vendorAccountKey(vendor: string, ...parts: (string | undefined)[]): string {
  return `${vendor}:${createHash('sha256')
    .update(JSON.stringify(parts.map((p) => p ?? '')))
    .digest('hex')
    .slice(0, 16)}`;
}
