/**
 * Salesforce's REST error vocabulary. Request-level errors are an array of {message, errorCode, fields};
 * per-record results inside sObject Collections use {statusCode, message, fields} instead.
 */
export class SfApiError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
    readonly fields: string[] = [],
  ) {
    super(message);
  }

  body(): Array<{ message: string; errorCode: string; fields?: string[] }> {
    return [
      {
        message: this.message,
        errorCode: this.errorCode,
        ...(this.fields.length ? { fields: this.fields } : {}),
      },
    ];
  }
}

/** A per-record failure (REST SaveResult error shape). */
export interface RecordError {
  statusCode: string;
  message: string;
  fields: string[];
}

export const notFound = () => new SfApiError(404, 'NOT_FOUND', 'The requested resource does not exist');
export const malformedQuery = (message: string) => new SfApiError(400, 'MALFORMED_QUERY', message);
