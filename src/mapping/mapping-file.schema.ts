// The shape of a mapping file, mappings/<vendor>/<object>.yaml. Structure only: transform names and
// args, canonical field names and cross-file rules are checked by the loader, which knows the registries.
import { z } from 'zod';

const fieldPath = z
  .string()
  .regex(/^[^.\s]+(\.[^.\s]+)*$/, 'must be a field name or a dotted path without spaces or empty segments');

/**
 * `- trim` (no args) or `- { e164: { defaultCountry: US } }` (one key: the name, its value: args). The
 * one-key rule is checked by the compiler so that it is reported alongside the other field errors.
 */
export const transformStepSchema = z.union([z.string().min(1), z.record(z.string(), z.unknown())]);

export const fieldRuleSchema = z
  .object({
    /** One source field, or several (the value is then a list until a transform such as join reduces it). */
    from: z.union([fieldPath, z.array(fieldPath).min(1)]).optional(),
    transforms: z.array(transformStepSchema).default([]),
    /** Inbound only: an empty value from this source may erase the stored one (merge rule 3). */
    clearable: z.boolean().default(false),
  })
  .strict();

export const timestampSchema = z.union([
  fieldPath,
  z
    .object({
      from: fieldPath,
      epoch: z.enum(['ms', 's']).optional(),
      assumeUtc: z.boolean().optional(),
    })
    .strict(),
]);

export const mappingFileSchema = z
  .object({
    connector: z.string().regex(/^[a-z][a-z0-9-]*$/, 'must be a lowercase connector id'),
    object: z.string().min(1),
    /** Bumped by the author on every change; stamped on every outcome the mapping produced. */
    version: z.number().int().positive(),
    description: z.string().optional(),
    identity: z
      .object({
        /** Vendor field holding the record's own id (the external id). */
        key: fieldPath,
        /** Vendor field where Syncline keeps the canonical customer id (an upsert key), if the vendor has one. */
        syncIdField: fieldPath.optional(),
      })
      .strict(),
    /** Vendor field with the record's last-modified time; without it the read time is used. */
    timestamp: timestampSchema.optional(),
    /** Canonical fields that must be non-empty after inbound mapping; otherwise the record is quarantined. */
    required: z.array(z.string().min(1)).default([]),
    /** canonical field <- vendor field(s) */
    inbound: z.record(z.string().min(1), fieldRuleSchema).default({}),
    /** vendor field path <- canonical field(s) */
    outbound: z.record(fieldPath, fieldRuleSchema).default({}),
  })
  .strict();

export type FieldRuleDefinition = z.infer<typeof fieldRuleSchema>;
export type MappingDefinition = z.infer<typeof mappingFileSchema>;
