// HubSpot's standard error shape ({status, message, correlationId, category, subCategory?, errors?, context?}) and the
// categories the CRM v3 API answers with. Owns bodies only; routing decides the HTTP status.
import { randomUUID } from 'node:crypto';
import type { Response } from 'express';

export enum HubSpotErrorCategory {
  ValidationError = 'VALIDATION_ERROR',
  ObjectNotFound = 'OBJECT_NOT_FOUND',
  ObjectAlreadyExists = 'OBJECT_ALREADY_EXISTS',
  Conflict = 'CONFLICT',
  InvalidAuthentication = 'INVALID_AUTHENTICATION',
  RateLimits = 'RATE_LIMITS',
  InternalError = 'INTERNAL_ERROR',
  ServiceUnavailable = 'SERVICE_UNAVAILABLE',
}

export interface HubSpotErrorBody {
  status: 'error';
  message: string;
  correlationId: string;
  category: string;
  subCategory?: string;
  errors?: {
    message: string;
    code?: string;
    in?: string;
    subCategory?: string;
    context?: Record<string, string[]>;
  }[];
  context?: Record<string, string[]>;
  links?: Record<string, string>;
}

export function errorBody(
  category: HubSpotErrorCategory | string,
  message: string,
  extra: Partial<Omit<HubSpotErrorBody, 'status' | 'message' | 'category' | 'correlationId'>> = {},
): HubSpotErrorBody {
  return { status: 'error', message, correlationId: randomUUID(), category, ...extra };
}

export function sendError(res: Response, httpStatus: number, body: HubSpotErrorBody): void {
  res.status(httpStatus).type('application/json;charset=utf-8').send(JSON.stringify(body));
}

/** Thrown inside handlers; the router turns it into the HTTP answer. */
export class HubSpotHttpError extends Error {
  constructor(
    readonly httpStatus: number,
    readonly body: HubSpotErrorBody,
  ) {
    super(body.message);
  }
}

export const validationError = (message: string, extra?: Parameters<typeof errorBody>[2]): HubSpotHttpError =>
  new HubSpotHttpError(400, errorBody(HubSpotErrorCategory.ValidationError, message, extra));
