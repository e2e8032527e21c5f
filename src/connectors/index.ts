// The plug-in contract connectors build on (imported by connectors/<vendor>/ as "src/connectors").
export * from './connector-error';
export * from './connector.types';
export * from './connector.decorator';
export * from './connector.registry';
export * from './conformance.types';
export * from './account-key';
export * from './rate-limiter';
export * from './vendor-clock';
