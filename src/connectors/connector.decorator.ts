// Marks a provider as a Syncline connector. The registry finds every marked provider at boot; nothing lists them.
import { DiscoveryService } from '@nestjs/core';
import type { ConnectorManifest } from './connector.types';

export const SynclineConnector = DiscoveryService.createDecorator<ConnectorManifest>();
