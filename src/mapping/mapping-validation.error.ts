// A mapping problem located in its file, and the error that carries all of them at once.

export interface MappingError {
  /** File as given to the loader (relative to the working directory when it is under it). */
  file: string;
  line?: number;
  /** Dotted path of the offending field in the file, e.g. "inbound.phone.transforms[0]"; "" for the file. */
  field: string;
  message: string;
}

export function formatMappingError(e: MappingError): string {
  return `${e.file}${e.line ? `:${e.line}` : ''}: ${e.field ? `${e.field}: ` : ''}${e.message}`;
}

export class MappingValidationError extends Error {
  override readonly name = 'MappingValidationError';

  constructor(readonly errors: readonly MappingError[]) {
    super(
      `${errors.length} mapping error${errors.length === 1 ? '' : 's'}:\n${errors.map(formatMappingError).join('\n')}`,
    );
  }
}
