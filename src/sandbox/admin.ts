// The /__admin surface every sandbox mounts: reset, seed, inspect, edit records as a vendor user would, and
// steer faults and webhooks. Kept apart from the emulated API and never behind the fault middleware, so tests
// can always reach it. It validates input and delegates; the vendor sandbox owns records and timestamps.
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { FaultConfig } from './faults';
import type { SandboxAdminTarget } from './sandbox.types';
import type { WebhookConfig } from './webhooks';

/** Throw from a SandboxAdminTarget method to choose the admin status (e.g. 404 for an unknown record id). */
export class SandboxAdminError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'SandboxAdminError';
  }
}

/** Upper bound for POST /seed, so a typo cannot exhaust memory. */
export const MAX_SEED_COUNT = 1_000_000;

export function createAdminRouter(target: SandboxAdminTarget): Router {
  const router = express.Router();
  router.use(express.json({ limit: '10mb' }));

  router.post('/reset', async (_req, res) => {
    await target.reset();
    res.json({ ok: true });
  });

  router.post('/seed', async (req, res) => {
    const body = objectBody(req);
    const count = body.count;
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 0 || count > MAX_SEED_COUNT) {
      throw new SandboxAdminError(400, `count must be an integer between 0 and ${MAX_SEED_COUNT}`);
    }
    if (body.seed !== undefined && (typeof body.seed !== 'number' || !Number.isInteger(body.seed))) {
      throw new SandboxAdminError(400, 'seed must be an integer');
    }
    await target.seed(count, body.seed as number | undefined);
    res.json({ ok: true, count, seed: body.seed });
  });

  router.get('/state', async (_req, res) => {
    const state = target.state ? await target.state() : { summary: {}, records: [] };
    res.json({ ...state, faults: target.faults.config, webhooks: webhookSummary(target) });
  });

  router.post('/records/:id/mutate', async (req, res) => {
    const fields = fieldsOf(objectBody(req));
    const record = await target.mutate(String(req.params.id), fields);
    res.json({ ok: true, record });
  });

  router.post('/mass-update', async (req, res) => {
    const body = objectBody(req);
    const fields = fieldsOf(body);
    const ids = body.ids;
    if (ids !== undefined && (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string'))) {
      throw new SandboxAdminError(400, 'ids must be an array of strings (omit it to update every record)');
    }
    const result = await target.massUpdate(ids as string[] | undefined, fields);
    res.json({ ok: true, result });
  });

  router.get('/faults', (_req, res) => {
    res.json({ ...target.faults.config, injected: target.faults.injected });
  });

  router.put('/faults', (req, res) => {
    const body = objectBody(req) as Partial<FaultConfig>;
    // A RangeError from validation becomes a 400 in the error handler below.
    target.faults.configure(body);
    res.json(target.faults.config);
  });

  router.put('/webhooks', (req, res) => {
    const body = objectBody(req);
    if (body.url === null) body.url = ''; // null clears the URL
    target.webhooks.configure(body as Partial<WebhookConfig>);
    res.json(webhookSummary(target));
  });

  router.get('/webhooks', (_req, res) => {
    res.json({ ...webhookSummary(target), log: target.webhooks.log });
  });

  router.post('/webhooks/flush', async (req, res) => {
    const raw = req.query.timeoutMs;
    const timeoutMs = raw === undefined ? undefined : Number(raw);
    if (timeoutMs !== undefined && (!Number.isFinite(timeoutMs) || timeoutMs < 0)) {
      throw new SandboxAdminError(400, 'timeoutMs must be a non-negative number');
    }
    try {
      await target.webhooks.flush(timeoutMs);
    } catch (err) {
      throw new SandboxAdminError(504, (err as Error).message);
    }
    res.json({ ok: true, attempts: target.webhooks.log.length });
  });

  router.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const { status, message } = describeError(err);
    res.status(status).json({ error: message });
  });

  return router;
}

function webhookSummary(target: SandboxAdminTarget): Record<string, unknown> {
  const w = target.webhooks;
  return { ...w.config, pending: w.pending, attempts: w.log.length, dropped: w.dropped };
}

function objectBody(req: Request): Record<string, unknown> {
  const body: unknown = req.body;
  if (body === undefined) return {};
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new SandboxAdminError(400, 'body must be a JSON object (send Content-Type: application/json)');
  }
  return body as Record<string, unknown>;
}

function fieldsOf(body: Record<string, unknown>): Record<string, unknown> {
  const fields = body.fields;
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) {
    throw new SandboxAdminError(400, 'fields must be a JSON object of field name to new value');
  }
  return fields as Record<string, unknown>;
}

function describeError(err: unknown): { status: number; message: string } {
  if (err instanceof SandboxAdminError) return { status: err.status, message: err.message };
  const e = err as { status?: unknown; statusCode?: unknown; type?: unknown; message?: unknown };
  const message = typeof e?.message === 'string' ? e.message : String(err);
  // body-parser errors carry their own status (400 bad JSON, 413 too large).
  const status =
    typeof e?.status === 'number' ? e.status : typeof e?.statusCode === 'number' ? e.statusCode : undefined;
  if (status !== undefined && status >= 400 && status < 600) return { status, message };
  // Validation in the kit throws RangeError; anything else unexpected is the sandbox's own bug.
  if (err instanceof RangeError) return { status: 400, message };
  if (/not found|unknown (record|id)/i.test(message)) return { status: 404, message };
  return { status: 500, message };
}
