// The closed set of failure codes a connector may report. Each connector translates its vendor's errors into
// these at its edge; the engine alone decides what to retry, when, and what goes to the dead-letter list.
export enum ConnectorErrorCode {
  /** Credentials missing, expired or rejected. Not retried until the connection is fixed. */
  Auth = 'auth',
  /** The vendor asked us to slow down; retry after `retryAfterMs`. */
  RateLimited = 'rate-limited',
  /** Timeouts, 5xx, connection resets, outages: retry with back-off. */
  Temporary = 'temporary',
  NotFound = 'not-found',
  /** The vendor rejected this record's content (bad email, missing required field…). Fix the data. */
  InvalidData = 'invalid-data',
  /** Anything else that will not succeed on retry. */
  Permanent = 'permanent',
}

export const RETRYABLE_CODES: ReadonlySet<ConnectorErrorCode> = new Set([
  ConnectorErrorCode.RateLimited,
  ConnectorErrorCode.Temporary,
]);

export class ConnectorError extends Error {
  constructor(
    readonly code: ConnectorErrorCode,
    message: string,
    readonly details: { retryAfterMs?: number; vendorCode?: string; status?: number; cause?: unknown } = {},
  ) {
    super(message);
    this.name = 'ConnectorError';
  }

  get retryAfterMs(): number | undefined {
    return this.details.retryAfterMs;
  }

  get retryable(): boolean {
    return RETRYABLE_CODES.has(this.code);
  }
}

export function isConnectorError(e: unknown): e is ConnectorError {
  return e instanceof ConnectorError;
}

/** Why a webhook delivery was refused: forged/stale answer 401, malformed 400. */
export enum WebhookRejection {
  Forged = 'forged',
  Stale = 'stale',
  Malformed = 'malformed',
}

export class WebhookVerificationError extends Error {
  constructor(
    readonly reason: WebhookRejection,
    message: string,
  ) {
    super(message);
    this.name = 'WebhookVerificationError';
  }
}
