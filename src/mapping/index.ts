// Public surface of the mapping system.
export * from './mapping-file.schema';
export * from './mapping-validation.error';
export * from './mapping.types';
export { compileMapping, type CompileProblem } from './mapping.compiler';
export {
  checkRoundTrip,
  mapInbound,
  mapOutbound,
  type InboundOptions,
  type OutboundOptions,
  type RoundTripReport,
} from './mapping.engine';
export {
  formatFieldPath,
  loadMappings,
  loadMappingsDir,
  parseMappingFile,
  type LoadResult,
} from './mapping.loader';
export { MAPPING_OPTIONS, MappingRegistry, type MappingRegistryOptions } from './mapping.registry';
export { MappingModule } from './mapping.module';
export {
  BUILTIN_TRANSFORMS,
  TransformRegistry,
  type BindResult,
  type BoundTransform,
} from './transforms/transform.registry';
export * from './transforms/transform.types';
export { noArgs as noArgsSchema, scalarSchema, type Scalar } from './transforms/transform.util';
export {
  MappingPreviewController,
  previewBodySchema,
  type PreviewBody,
  type PreviewResponse,
} from './mapping-preview.controller';
