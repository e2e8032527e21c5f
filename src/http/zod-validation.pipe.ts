// Validates query strings, params and bodies with zod; a failure is a 400 that names the offending field.
import { BadRequestException, Injectable, type ArgumentMetadata, type PipeTransform } from '@nestjs/common';
import type { z } from 'zod';

const WHERE: Record<string, string> = {
  query: 'query parameter',
  body: 'body field',
  param: 'path parameter',
};

export function zodIssuesToMessage(issues: z.core.$ZodIssue[], where: string): string[] {
  return issues.map((i) => `${where} "${i.path.join('.') || '(root)'}": ${i.message}`);
}

@Injectable()
export class ZodValidationPipe<S extends z.ZodType> implements PipeTransform {
  constructor(private readonly schema: S) {}

  transform(value: unknown, meta: ArgumentMetadata): z.infer<S> {
    const result = this.schema.safeParse(value ?? {});
    if (!result.success) {
      const errors = zodIssuesToMessage(result.error.issues, WHERE[meta.type] ?? 'input');
      throw new BadRequestException({
        statusCode: 400,
        error: 'Bad Request',
        message: errors.join('; '),
        errors,
      });
    }
    return result.data;
  }
}
