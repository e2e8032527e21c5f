// Webhook intake. Vendors deliver in bursts and time out (and retry) when an acknowledgement is slow, so POST
// /webhooks/:connectionId is answered on the bare Node HTTP server, ahead of Express and Nest: measured in the
// webhook benchmark, the Express + Nest path (router, three body parsers, request logger, guard, pipes) cost ~1 ms
// of the event loop per delivery and capped one process at ~1,000 deliveries/s with nothing else running; this
// path handles ~2,500/s. What it does is the controller's: read the raw body (the signature covers its exact
// bytes), verify, store in the inbox, enqueue processing, acknowledge. WebhooksController keeps the route
// documented and serves it when the intake is not attached.
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import {
  BadRequestException,
  HttpException,
  Injectable,
  Logger,
  Optional,
  PayloadTooLargeException,
  UnauthorizedException,
  UnsupportedMediaTypeException,
} from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { WebhookRejection, WebhookVerificationError } from '../connectors/connector-error';
import type { WebhookAck, WebhookRequest } from '../connectors/connector.types';
import { JobName, JobQueue } from '../queue/job-queue';
import { WebhookInboxService } from './webhook-inbox.service';

export const CONNECTION_ID = /^[a-z0-9][a-z0-9_-]{0,62}$/;
/** POST /webhooks/<id>, an optional trailing slash, an optional query string. */
const WEBHOOK_PATH = /^\/webhooks\/([^/?#]*)\/?(?:\?.*)?$/;
/** The body types vendors send: JSON (HubSpot, SendGrid), SOAP/XML (Salesforce), forms. */
const BODY_TYPES = new Set([
  'application/json',
  'text/xml',
  'application/xml',
  'application/soap+xml',
  'text/plain',
  'application/x-www-form-urlencoded',
]);

/** '1mb', '512kb', '2048b' (BODY_LIMIT) in bytes. */
export function bodyLimitBytes(limit: string): number {
  const m = /^(\d+)(b|kb|mb)$/i.exec(limit);
  if (!m) throw new Error(`body limit "${limit}" must look like 1mb or 512kb`);
  return Number(m[1]) * { b: 1, kb: 1024, mb: 1024 * 1024 }[m[2].toLowerCase() as 'b' | 'kb' | 'mb'];
}

@Injectable()
export class WebhookReceiver {
  private readonly log = new Logger('Webhooks');

  constructor(
    private readonly inbox: WebhookInboxService,
    private readonly queue: JobQueue,
    // The request log pino-http writes for every other route (absent where the app runs without the logger).
    @Optional() private readonly requestLog?: PinoLogger,
  ) {}

  /**
   * Verifies, stores and enqueues one delivery; returns the acknowledgement the vendor expects. Throws HTTP
   * errors: 400 malformed (naming the problem), 401 forged or stale, 404 unknown connection.
   */
  async accept(connectionId: string, request: WebhookRequest): Promise<WebhookAck> {
    if (!CONNECTION_ID.test(connectionId))
      throw new BadRequestException(`path parameter "connectionId": must be a connection id`);
    if (!request.rawBody.length)
      throw new BadRequestException('webhook body is empty or its content-type is not supported');
    try {
      const result = await this.inbox.receive(connectionId, request);
      if (result.received)
        await this.queue.add(JobName.ProcessInbox, { connectionId }, { jobId: `inbox:${connectionId}` });
      return result.ack;
    } catch (err) {
      if (err instanceof WebhookVerificationError) {
        if (err.reason === WebhookRejection.Malformed)
          throw new BadRequestException(`malformed webhook: ${err.message}`);
        throw new UnauthorizedException(`webhook rejected (${err.reason}): ${err.message}`);
      }
      throw err;
    }
  }

  /** Answers webhook deliveries on `server` before its other request listeners (Express) see them. */
  attach(server: Server, bodyLimit: string): void {
    const limit = bodyLimitBytes(bodyLimit);
    const others = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
    server.removeAllListeners('request');
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const m = req.method === 'POST' && req.url ? WEBHOOK_PATH.exec(req.url) : null;
      if (!m) {
        for (const l of others) l.call(server, req, res);
        return;
      }
      void this.handle(m[1], req, res, limit);
    });
  }

  private async handle(
    rawId: string,
    req: IncomingMessage,
    res: ServerResponse,
    limit: number,
  ): Promise<void> {
    const t0 = performance.now();
    const path = req.url!.split('?')[0];
    let status = 500;
    try {
      const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
      const rawBody = BODY_TYPES.has(type) ? await readBody(req, limit) : (req.resume(), Buffer.alloc(0));
      const tls = (req.socket as { encrypted?: boolean }).encrypted;
      const ack = await this.accept(safeDecode(rawId), {
        method: 'POST',
        url: `${tls ? 'https' : 'http'}://${req.headers.host ?? ''}${req.url}`,
        headers: flatHeaders(req.headers),
        rawBody,
        receivedAt: new Date(),
      });
      status = ack.status;
      send(res, ack.status, withCharset(ack.contentType), ack.body);
    } catch (err) {
      if (err instanceof HttpException) {
        status = err.getStatus();
        const body = err.getResponse();
        send(res, status, 'application/json; charset=utf-8', JSON.stringify(body));
      } else {
        this.log.error(`webhook delivery to ${path} failed: ${(err as Error).message}`);
        send(
          res,
          500,
          'application/json; charset=utf-8',
          JSON.stringify({ statusCode: 500, message: 'Internal server error' }),
        );
      }
    }
    // Path only (the req serializer drops the query string, which can carry a secret: Salesforce's ?token=).
    this.requestLog?.info(
      {
        req: { method: 'POST', url: path },
        res: { statusCode: status },
        responseTime: Math.round(performance.now() - t0),
      },
      'request completed',
    );
  }
}

/** Header name (lower case, as Node gives it) -> value; repeated headers joined with commas. */
export function flatHeaders(raw: IncomingHttpHeaders): Record<string, string | undefined> {
  const headers: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(raw)) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(',') : v;
  return headers;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function withCharset(contentType: string): string {
  return /charset=/i.test(contentType) ? contentType : `${contentType}; charset=utf-8`;
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** The request body, inflated as its Content-Encoding says, refused past `limit` bytes. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      req.resume();
      return reject(new PayloadTooLargeException('request entity too large'));
    }
    const encoding = String(req.headers['content-encoding'] ?? 'identity').toLowerCase();
    let stream: Readable = req;
    if (encoding === 'gzip' || encoding === 'x-gzip') stream = req.pipe(zlib.createGunzip());
    else if (encoding === 'deflate') stream = req.pipe(zlib.createInflate());
    else if (encoding === 'br') stream = req.pipe(zlib.createBrotliDecompress());
    else if (encoding !== 'identity') {
      req.resume();
      return reject(new UnsupportedMediaTypeException(`unsupported content encoding "${encoding}"`));
    }
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        stream.removeAllListeners('data');
        req.resume();
        reject(new PayloadTooLargeException('request entity too large'));
        return;
      }
      chunks.push(c);
    });
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', (e) =>
      reject(new BadRequestException(`webhook body could not be read: ${(e as Error).message}`)),
    );
  });
}
