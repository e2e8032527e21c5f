// Owns the shape of syncline.yaml: the declared connections and syncs. Validated at boot; an absent file is
// the empty-but-valid default. Secrets are never written in the file, only referenced by environment variable.
import { z } from 'zod';

const id = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'must be lowercase letters, digits, "-" or "_" (max 63)');

/** A credential value: a reference to an environment variable ({ env: NAME }) or, for sandboxes, a literal. */
export const secretRefSchema = z.union([
  z.object({ env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name') }).strict(),
  z.string(),
]);

export const connectionSchema = z
  .object({
    id,
    connector: id,
    /** Base URL override (sandboxes, regional hosts). */
    baseUrl: z.url().optional(),
    credentials: z.record(z.string(), secretRefSchema).default({}),
    settings: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

export enum SyncMode {
  Upsert = 'upsert',
  UpdateOnly = 'update-only',
  Mirror = 'mirror',
}

export const endpointSchema = z.object({ connection: id, object: z.string().min(1) }).strict();

export const syncSchema = z
  .object({
    id,
    source: endpointSchema
      .extend({
        /**
         * Records per page read from the source (capped by the connector's own maximum). Each page is one
         * transaction, and the unit of work a cluster of workers shares.
         */
        pageSize: z.number().int().min(1).max(10_000).optional(),
      })
      .strict(),
    destinations: z.array(endpointSchema).default([]),
    /** Five- or six-field cron expression; absent means manual or webhook-triggered only. */
    schedule: z.string().optional(),
    mode: z.enum(SyncMode).default(SyncMode.Upsert),
    /** Connection priority for equal source timestamps, overall and per canonical field. */
    priority: z
      .object({
        default: z.array(id).default([]),
        fields: z.record(z.string(), z.array(id)).default({}),
      })
      .strict()
      .default({ default: [], fields: {} }),
    filter: z
      .object({
        /** Only customers with this consent (e.g. "email") granted are sent to the destinations. */
        requireConsent: z.enum(['email']).optional(),
      })
      .strict()
      .default({}),
    /** After each run, read back up to `sample` of the records it pushed per destination and report drift. */
    reconcile: z
      .object({
        afterRun: z.boolean().default(true),
        sample: z.number().int().min(1).max(100000).default(200),
      })
      .strict()
      .default({ afterRun: true, sample: 200 }),
    enabled: z.boolean().default(true),
  })
  .strict();

export const synclineConfigSchema = z
  .object({
    version: z.literal(1).default(1),
    connections: z.array(connectionSchema).default([]),
    syncs: z.array(syncSchema).default([]),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const connectionIds = new Set<string>();
    cfg.connections.forEach((c, i) => {
      if (connectionIds.has(c.id)) {
        ctx.addIssue({
          code: 'custom',
          path: ['connections', i, 'id'],
          message: `duplicate connection id "${c.id}"`,
        });
      }
      connectionIds.add(c.id);
    });
    const syncIds = new Set<string>();
    cfg.syncs.forEach((s, i) => {
      if (syncIds.has(s.id)) {
        ctx.addIssue({ code: 'custom', path: ['syncs', i, 'id'], message: `duplicate sync id "${s.id}"` });
      }
      syncIds.add(s.id);
      if (!connectionIds.has(s.source.connection)) {
        ctx.addIssue({
          code: 'custom',
          path: ['syncs', i, 'source', 'connection'],
          message: `unknown connection "${s.source.connection}"`,
        });
      }
      s.destinations.forEach((d, j) => {
        if (!connectionIds.has(d.connection)) {
          ctx.addIssue({
            code: 'custom',
            path: ['syncs', i, 'destinations', j, 'connection'],
            message: `unknown connection "${d.connection}"`,
          });
        }
      });
    });
  });

export type SynclineConfig = z.infer<typeof synclineConfigSchema>;
export type ConnectionConfig = z.infer<typeof connectionSchema>;
export type SyncConfig = z.infer<typeof syncSchema>;
export type SecretRef = z.infer<typeof secretRefSchema>;
