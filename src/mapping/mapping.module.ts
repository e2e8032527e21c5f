// Nest wiring for the mapping system. Global so every connector module can inject TransformRegistry
// to register its own transforms, and the sync engine MappingRegistry. Serves POST /mappings/preview.
import { Global, Module, type DynamicModule } from '@nestjs/common';
import { MappingPreviewController } from './mapping-preview.controller';
import { MAPPING_OPTIONS, MappingRegistry, type MappingRegistryOptions } from './mapping.registry';
import { TransformRegistry } from './transforms/transform.registry';

@Global()
@Module({})
export class MappingModule {
  static forRoot(options: MappingRegistryOptions = {}): DynamicModule {
    return {
      module: MappingModule,
      providers: [{ provide: MAPPING_OPTIONS, useValue: options }, TransformRegistry, MappingRegistry],
      controllers: [MappingPreviewController],
      exports: [TransformRegistry, MappingRegistry],
    };
  }
}
