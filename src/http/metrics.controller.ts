import { Controller, Get, Header } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { MetricsService } from '../queue/metrics.service';

@ApiTags('health')
@ApiBearerAuth()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  /** Prometheus metrics: backlogs, dead letters, quarantine, each sync's health, this process (needs a token). */
  @Get()
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  @Header('Cache-Control', 'no-store')
  @ApiOkResponse({ description: 'Prometheus text exposition format 0.0.4' })
  metricsText(): Promise<string> {
    return this.metrics.render();
  }
}
