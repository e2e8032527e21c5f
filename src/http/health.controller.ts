import { Controller, Get } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import {
  HealthCheck,
  HealthCheckService,
  HealthIndicatorService,
  TypeOrmHealthIndicator,
} from '@nestjs/terminus';
import { JobQueue } from '../queue/job-queue';
import { Public } from './api-token.guard';

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
    private readonly indicators: HealthIndicatorService,
    private readonly queue: JobQueue,
  ) {}

  /**
   * 200 when the database answers and jobs can be queued (with REDIS_URL, Redis answers: a webhook acknowledged
   * while it is down would wait in the inbox for the sweep), 503 naming what is down otherwise.
   */
  @Public()
  @Get()
  @HealthCheck()
  check() {
    return this.health.check([
      () => this.db.pingCheck('database', { timeout: 2000 }),
      async () => {
        const q = await this.queue.health();
        const session = this.indicators.check('queue');
        const data = { adapter: q.adapter, ...(q.message ? { message: q.message } : {}) };
        return q.up ? session.up(data) : session.down(data);
      },
    ]);
  }
}
