/**
 * OAuth 2.0 token endpoint (client credentials and refresh token grants) and the bearer-token check in front
 * of the REST API. Errors use Salesforce's OAuth shapes ({error, error_description}) with status 400, and
 * 401 INVALID_SESSION_ID for a bad token on the API.
 */
import crypto from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import { SfApiError } from './salesforce-errors';

export interface OrgIdentity {
  organizationId: string;
  userId: string;
  clientId: string;
  clientSecret: string;
  refreshToken: string;
}

export class SalesforceAuth {
  /** Access tokens the API accepts. */
  private readonly tokens = new Set<string>();
  private counter = 0;

  constructor(
    readonly identity: OrgIdentity,
    readonly initialAccessToken: string,
  ) {
    this.tokens.add(initialAccessToken);
  }

  issue(): string {
    this.counter++;
    // Salesforce access tokens start with the org id and '!'
    const token = `${this.identity.organizationId.slice(0, 15)}!AQ${crypto.randomBytes(24).toString('base64url')}${this.counter}`;
    this.tokens.add(token);
    return token;
  }

  isValid(token: string): boolean {
    return this.tokens.has(token);
  }

  /** Ends every session (as a session timeout or admin revocation would); refresh tokens stay valid. */
  expireAll(): void {
    this.tokens.clear();
  }

  reset(): void {
    this.tokens.clear();
    this.tokens.add(this.initialAccessToken);
  }

  requireBearer(req: Request): void {
    const header = req.get('authorization') ?? '';
    const m = /^(Bearer|OAuth)\s+(.+)$/i.exec(header);
    if (!m || !this.isValid(m[2].trim()))
      throw new SfApiError(401, 'INVALID_SESSION_ID', 'Session expired or invalid');
  }

  router(instanceUrl: () => string, now: () => number): Router {
    const r = express.Router();
    r.post('/token', express.urlencoded({ extended: false }), (req: Request, res: Response) => {
      const p = (req.body ?? {}) as Record<string, string | undefined>;
      const fail = (error: string, description: string) =>
        res.status(400).json({ error, error_description: description });
      const grant = p.grant_type;
      if (grant !== 'client_credentials' && grant !== 'refresh_token')
        return fail('unsupported_grant_type', 'grant type not supported');
      if (p.client_id !== this.identity.clientId)
        return fail('invalid_client_id', 'client identifier invalid');
      if (grant === 'client_credentials' && p.client_secret !== this.identity.clientSecret)
        return fail('invalid_client', 'invalid client credentials');
      if (grant === 'refresh_token') {
        if (p.client_secret !== undefined && p.client_secret !== this.identity.clientSecret)
          return fail('invalid_client', 'invalid client credentials');
        if (p.refresh_token !== this.identity.refreshToken)
          return fail('invalid_grant', 'expired access/refresh token');
      }
      const issuedAt = String(now());
      const base = instanceUrl();
      const id = `${base}/id/${this.identity.organizationId}/${this.identity.userId}`;
      const signature = crypto
        .createHmac('sha256', this.identity.clientSecret)
        .update(id + issuedAt)
        .digest('base64');
      res.json({
        access_token: this.issue(),
        signature,
        scope: grant === 'refresh_token' ? 'refresh_token api' : 'api',
        instance_url: base,
        id,
        token_type: 'Bearer',
        issued_at: issuedAt,
      });
    });
    r.post('/revoke', express.urlencoded({ extended: false }), (req: Request, res: Response) => {
      const token = String((req.body as Record<string, unknown>)?.token ?? '');
      if (!this.tokens.delete(token))
        return res
          .status(400)
          .json({ error: 'unsupported_token_type', error_description: 'this token type is not supported' });
      res.status(200).end();
    });
    return r;
  }
}
