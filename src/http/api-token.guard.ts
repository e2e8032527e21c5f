// Every endpoint needs an API token unless marked @Public() (health, docs, vendor webhooks, which carry the
// vendor's signature instead). Tokens are compared as SHA-256 hashes in constant time.
import { createHash, timingSafeEqual } from 'node:crypto';
import {
  CanActivate,
  Injectable,
  SetMetadata,
  UnauthorizedException,
  type ExecutionContext,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { AppConfig } from '../config/app-config';

export const IS_PUBLIC = 'syncline:public';
export const Public = () => SetMetadata(IS_PUBLIC, true);

export function presentedToken(req: Request): string | null {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7).trim() || null;
  const key = req.headers['x-api-key'];
  return typeof key === 'string' && key ? key : null;
}

/** A short, non-reversible name for a token, fit for the audit log's actor id. */
export function tokenFingerprint(token: string): string {
  return `token:${createHash('sha256').update(token).digest('hex').slice(0, 12)}`;
}

@Injectable()
export class ApiTokenGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly config: AppConfig,
  ) {}

  canActivate(ctx: ExecutionContext): boolean {
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [ctx.getHandler(), ctx.getClass()])) return true;
    const req = ctx.switchToHttp().getRequest<Request>();
    const token = presentedToken(req);
    if (!token) throw new UnauthorizedException('missing API token (Authorization: Bearer <token>)');
    const digest = createHash('sha256').update(token).digest();
    let ok = false;
    // Compare against every configured token so timing says nothing about which (or whether one) matched.
    for (const h of this.config.apiTokenHashes) ok = timingSafeEqual(h, digest) || ok;
    if (!ok) throw new UnauthorizedException('invalid API token');
    (req as Request & { actorId?: string }).actorId = tokenFingerprint(token);
    return true;
  }
}
