// Finds every @SynclineConnector provider, refuses duplicate ids and objects without a mapping, and hands
// connectors to the engine by id.
import { Injectable, NotFoundException, type OnApplicationBootstrap } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { MappingRegistry } from '../mapping/mapping.registry';
import { SynclineConnector } from './connector.decorator';
import type { Connector, ConnectorManifest } from './connector.types';

export class ConnectorRegistrationError extends Error {}

@Injectable()
export class ConnectorRegistry implements OnApplicationBootstrap {
  private readonly connectors = new Map<string, Connector>();
  private discovered = false;

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly mappings: MappingRegistry,
  ) {}

  onApplicationBootstrap(): void {
    this.discover();
  }

  /** Discovers and validates; throws ConnectorRegistrationError listing every problem. */
  discover(): void {
    if (this.discovered) return;
    const problems: string[] = [];
    for (const wrapper of this.discovery.getProviders({ metadataKey: SynclineConnector.KEY })) {
      const manifest = this.discovery.getMetadataByDecorator(SynclineConnector, wrapper);
      const instance = wrapper.instance as Connector | undefined;
      if (!manifest || !instance) continue;
      if (instance.manifest?.id !== manifest.id) {
        problems.push(
          `connector class ${wrapper.name} declares id "${manifest.id}" but its manifest says "${instance.manifest?.id}"`,
        );
        continue;
      }
      if (this.connectors.has(manifest.id)) {
        problems.push(`duplicate connector id "${manifest.id}" (${wrapper.name})`);
        continue;
      }
      for (const object of manifest.objects) {
        if (!this.mappings.has(manifest.id, object)) {
          problems.push(
            `connector "${manifest.id}" declares object "${object}" but mappings/${manifest.id}/ has no mapping for it`,
          );
        }
      }
      this.connectors.set(manifest.id, instance);
    }
    if (problems.length) throw new ConnectorRegistrationError(problems.join('\n'));
    this.discovered = true;
  }

  get(id: string): Connector {
    this.discover();
    const c = this.connectors.get(id);
    if (!c) throw new NotFoundException(`no connector "${id}" is installed`);
    return c;
  }

  has(id: string): boolean {
    this.discover();
    return this.connectors.has(id);
  }

  manifests(): ConnectorManifest[] {
    this.discover();
    return [...this.connectors.values()].map((c) => c.manifest).sort((a, b) => a.id.localeCompare(b.id));
  }
}
