// Our own clock, injectable so tests can pin it. Merge decisions never use it: they use source timestamps.
import { Injectable } from '@nestjs/common';

@Injectable()
export class Clock {
  now(): Date {
    return new Date();
  }
  nowIso(): string {
    return this.now().toISOString();
  }
}
