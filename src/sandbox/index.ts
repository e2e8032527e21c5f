// Public surface of the sandbox kit: vendor sandboxes import from here, never from the files directly.
export * from './rng';
export * from './people';
export { COUNTRIES, type CountryData, type CityData } from './people.data';
export * from './faults';
export * from './webhooks';
export * from './admin';
export * from './server';
export * from './sandbox.types';
export * from './search-index-lag';
