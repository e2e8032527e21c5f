// Holds the validated mappings, one per (connector, object). Loading is deferred to application
// bootstrap (or the first lookup outside Nest) so connectors can register their transforms in
// onModuleInit first; a bad mapping then stops the boot with every error listed.
import { Inject, Injectable, Optional, type OnApplicationBootstrap } from '@nestjs/common';
import { loadMappings } from './mapping.loader';
import type { CompiledMapping } from './mapping.types';
import { TransformRegistry } from './transforms/transform.registry';

export const MAPPING_OPTIONS = Symbol('MAPPING_OPTIONS');

export interface MappingRegistryOptions {
  /** Directory holding <vendor>/<object>.yaml; default "mappings" under the working directory. */
  dir?: string;
  /** Already compiled mappings (tests, previews); when given, nothing is read from disk. */
  mappings?: CompiledMapping[];
  /** Read only the mappings of these connectors (the ones loaded); default: every vendor folder. */
  connectors?: string[];
}

function keyOf(connector: string, object: string): string {
  return `${connector}/${object}`.toLowerCase();
}

@Injectable()
export class MappingRegistry implements OnApplicationBootstrap {
  private byKey?: Map<string, CompiledMapping>;
  readonly transforms: TransformRegistry;

  constructor(
    @Optional() @Inject(MAPPING_OPTIONS) private readonly options: MappingRegistryOptions = {},
    @Optional() transforms?: TransformRegistry,
  ) {
    this.transforms = transforms ?? new TransformRegistry();
  }

  onApplicationBootstrap(): void {
    this.load();
  }

  /** (Re)loads and validates every mapping; throws MappingValidationError with all problems. */
  load(): this {
    const list =
      this.options.mappings ??
      loadMappings(this.options.dir ?? 'mappings', this.transforms, this.options.connectors);
    const byKey = new Map<string, CompiledMapping>();
    for (const m of list) {
      const key = keyOf(m.connector, m.object);
      if (byKey.has(key)) throw new Error(`duplicate mapping for ${m.connector}/${m.object}`);
      byKey.set(key, m);
    }
    this.byKey = byKey;
    return this;
  }

  private get map(): Map<string, CompiledMapping> {
    if (!this.byKey) this.load();
    return this.byKey as Map<string, CompiledMapping>;
  }

  find(connector: string, object: string): CompiledMapping | undefined {
    return this.map.get(keyOf(connector, object));
  }

  has(connector: string, object: string): boolean {
    return this.map.has(keyOf(connector, object));
  }

  /** The mapping for (connector, object); throws when there is none. */
  get(connector: string, object: string): CompiledMapping {
    const m = this.find(connector, object);
    if (!m) throw new Error(`no mapping for ${connector}/${object}`);
    return m;
  }

  list(connector?: string): CompiledMapping[] {
    const all = [...this.map.values()];
    return connector ? all.filter((m) => m.connector === connector) : all;
  }

  /** Mapping version per "connector/object", as stamped on outcomes and previews. */
  versions(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const m of this.map.values()) out[`${m.connector}/${m.object}`] = m.version;
    return out;
  }
}
