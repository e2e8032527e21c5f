// Mappings are files, so their changes happen outside the API. At boot, every mapping whose content differs from
// the last one recorded gets an audit entry (mapping.registered / mapping.updated) with its version and hash.
import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { AuditService } from '../audit/audit.service';
import { ActorType, AuditEntity } from '../audit/audit.types';
import { contentHash } from '../common/hash';
import { MappingRegistry } from '../mapping/mapping.registry';
import { Database } from '../store/database';

@Injectable()
export class MappingAuditService implements OnApplicationBootstrap {
  constructor(
    private readonly db: Database,
    private readonly audit: AuditService,
    private readonly mappings: MappingRegistry,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.recordChanges();
  }

  async recordChanges(): Promise<number> {
    let changed = 0;
    for (const m of this.mappings.list()) {
      const id = `${m.connector}/${m.object}`;
      const hash = contentHash(m.definition);
      const [last] = await this.audit
        .list({ entityType: AuditEntity.Mapping, entityId: id, limit: 1000 })
        .then((r) => r.entries.slice(-1));
      const lastHash = (last?.payload as { hash?: string } | null)?.hash;
      if (lastHash === hash) continue;
      await this.db.transaction((tx) =>
        this.audit.append(tx, [
          {
            actor: { type: ActorType.System, id: 'boot' },
            entityType: AuditEntity.Mapping,
            entityId: id,
            action: last ? 'mapping.updated' : 'mapping.registered',
            payload: {
              version: m.version,
              hash,
              file: m.file,
              previousVersion: (last?.payload as { version?: number } | null)?.version ?? null,
            },
          },
        ]),
      );
      changed++;
    }
    return changed;
  }
}
