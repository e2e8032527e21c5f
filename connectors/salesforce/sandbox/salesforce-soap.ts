/**
 * The slice of the Partner SOAP API (/services/Soap/u/NN.0) that the REST API has no counterpart for:
 * emptyRecycleBin, the hard delete of records already in the recycle bin. Requests are SOAP 1.1 envelopes with the
 * session in SessionHeader; answers are envelopes with one result per id in request order, and request-level
 * failures are SOAP faults (HTTP 500, faultcode sf:<ExceptionCode>) as Salesforce sends them.
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { XMLParser } from 'fast-xml-parser';
import type { FaultResponder } from '../../../src/sandbox/faults';
import { SfApiError, type RecordError } from './salesforce-errors';
import type { SalesforceApi } from './salesforce-api';
import type { SalesforceAuth } from './salesforce-auth';
import { normalizeId } from './salesforce-ids';
import { SLOT_IS_DELETED } from './salesforce-schema';
import type { SalesforceStore } from './salesforce-store';

/** emptyRecycleBin takes at most 200 ids per call. */
export const MAX_EMPTY_RECYCLE_BIN_IDS = 200;
const PARTNER_NS = 'urn:partner.soap.sforce.com';

const parser = new XMLParser({
  removeNSPrefix: true,
  ignoreAttributes: true,
  parseTagValue: false,
  isArray: (name) => name === 'ids',
});

interface EmptyRecycleBinResult {
  id?: string;
  success: boolean;
  errors: RecordError[];
}

export class SoapFault extends Error {
  constructor(
    readonly exceptionCode: string,
    message: string,
    readonly status = 500,
  ) {
    super(message);
  }
}

export class SalesforceSoap {
  constructor(
    private readonly store: SalesforceStore,
    private readonly auth: SalesforceAuth,
    private readonly api: SalesforceApi,
  ) {}

  router(): Router {
    const r = express.Router();
    r.post(
      '/u/:version',
      express.text({ type: () => true, limit: '10mb' }),
      (req: Request, res: Response) => {
        if (
          !/^\d{2}\.0$/.test(String(req.params.version)) ||
          Number(String(req.params.version).slice(0, 2)) < 10
        ) {
          throw new SoapFault(
            'UNSUPPORTED_API_VERSION',
            `Invalid Api version specified on URL: ${String(req.params.version)}`,
          );
        }
        const envelope = this.parse(typeof req.body === 'string' ? req.body : '');
        const session = envelope.Header?.SessionHeader?.sessionId;
        if (typeof session !== 'string' || !this.auth.isValid(session.trim())) {
          throw new SoapFault(
            'INVALID_SESSION_ID',
            'Invalid Session ID found in SessionHeader: Illegal Session',
          );
        }
        try {
          this.api.meter(res);
        } catch (err) {
          if (err instanceof SfApiError)
            throw new SoapFault(err.errorCode, `${err.errorCode}: ${err.message}`);
          throw err;
        }
        const body = envelope.Body ?? {};
        if (!('emptyRecycleBin' in body)) {
          const call = Object.keys(body)[0] ?? '';
          throw new SoapFault(
            'INVALID_OPERATION',
            `No operation available for request {${PARTNER_NS}}${call}`,
            500,
          );
        }
        const ids = (body.emptyRecycleBin as { ids?: unknown } | '' | undefined) || {};
        const list = Array.isArray(ids.ids) ? ids.ids.map((v) => String(v).trim()) : [];
        if (list.length === 0)
          throw new SoapFault('INVALID_OPERATION', 'emptyRecycleBin requires at least one id');
        if (list.length > MAX_EMPTY_RECYCLE_BIN_IDS) {
          throw new SoapFault(
            'LIMIT_EXCEEDED',
            `Exceeded max size limit of ${MAX_EMPTY_RECYCLE_BIN_IDS} with request size ${list.length}`,
          );
        }
        const results = list.map((id) => this.emptyOne(id));
        res
          .status(200)
          .type('text/xml; charset=utf-8')
          .send(
            envelopeOf(
              `<emptyRecycleBinResponse>${results.map(resultXml).join('')}</emptyRecycleBinResponse>`,
            ),
          );
      },
    );
    return r;
  }

  /** SOAP faults as Salesforce renders them; anything unexpected is an UNKNOWN_EXCEPTION fault. */
  static errorHandler() {
    return (err: unknown, _req: Request, res: Response, _next: NextFunction): void => {
      const fault =
        err instanceof SoapFault
          ? err
          : new SoapFault(
              'UNKNOWN_EXCEPTION',
              `An unexpected error occurred: ${(err as Error)?.message ?? String(err)}`,
            );
      sendFault(res, fault.status, fault.exceptionCode, fault.message);
    };
  }

  /** The kit's injected faults, answered the SOAP way. */
  static faultResponder(): FaultResponder {
    return {
      tooManyRequests: (_req, res) =>
        sendFault(res, 500, 'REQUEST_LIMIT_EXCEEDED', 'ConcurrentPerOrgLongTxn Limit exceeded.'),
      serverError: (_req, res) =>
        sendFault(
          res,
          500,
          'UNKNOWN_EXCEPTION',
          'An unexpected error occurred. Please include this ErrorId if you contact support: 1930428367-12873 (-1081914234)',
        ),
      unavailable: (_req, res) => {
        res.status(503).type('text/html').send('<html><body>Server temporarily unavailable.</body></html>');
      },
    };
  }

  private parse(xml: string): {
    Header?: { SessionHeader?: { sessionId?: unknown } };
    Body?: Record<string, unknown>;
  } {
    let doc: { Envelope?: unknown };
    try {
      doc = parser.parse(xml) as { Envelope?: unknown };
    } catch {
      throw new SoapFault('INVALID_XML', 'The request is not well-formed XML');
    }
    const env = doc.Envelope;
    if (!env || typeof env !== 'object')
      throw new SoapFault('INVALID_XML', 'The request is not a SOAP envelope');
    return env as { Header?: { SessionHeader?: { sessionId?: unknown } }; Body?: Record<string, unknown> };
  }

  /** One id: only a record in the recycle bin can be emptied; it is then gone for good. */
  private emptyOne(rawId: string): EmptyRecycleBinResult {
    const id = normalizeId(rawId);
    const hit = id ? this.store.locate(id) : undefined;
    if (!hit)
      return {
        id: rawId,
        success: false,
        errors: [{ statusCode: 'INVALID_ID_FIELD', message: 'invalid record id', fields: [] }],
      };
    if (hit.row[SLOT_IS_DELETED] !== true) {
      return {
        id,
        success: false,
        errors: [{ statusCode: 'INVALID_ID_FIELD', message: 'record is not in the recycle bin', fields: [] }],
      };
    }
    this.store.hardDelete(hit.object, hit.row);
    return { id, success: true, errors: [] };
  }
}

function esc(v: string): string {
  return v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function resultXml(r: EmptyRecycleBinResult): string {
  const errors = r.errors
    .map(
      (e) =>
        `<errors>${e.fields.map((f) => `<fields>${esc(f)}</fields>`).join('')}<message>${esc(e.message)}</message><statusCode>${esc(e.statusCode)}</statusCode></errors>`,
    )
    .join('');
  return `<result>${errors}${r.id ? `<id>${esc(r.id)}</id>` : '<id xsi:nil="true"/>'}<success>${r.success}</success></result>`;
}

function envelopeOf(body: string): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="' +
    PARTNER_NS +
    '" xmlns:sf="urn:fault.partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">' +
    `<soapenv:Body>${body}</soapenv:Body></soapenv:Envelope>`
  );
}

function sendFault(res: Response, status: number, code: string, message: string): void {
  res
    .status(status)
    .type('text/xml; charset=utf-8')
    .send(
      envelopeOf(
        `<soapenv:Fault><faultcode>sf:${esc(code)}</faultcode><faultstring>${esc(message)}</faultstring>` +
          `<detail><sf:UnexpectedErrorFault xsi:type="sf:UnexpectedErrorFault">` +
          `<sf:exceptionCode>${esc(code)}</sf:exceptionCode><sf:exceptionMessage>${esc(message)}</sf:exceptionMessage>` +
          '</sf:UnexpectedErrorFault></detail></soapenv:Fault>',
      ),
    );
}
