// The HubSpot plug-in as one Nest module; ConnectorsModule finds it by folder and its provider by decorator.
import { Module } from '@nestjs/common';
import { HubSpotConnector } from './hubspot.connector';

@Module({ providers: [HubSpotConnector], exports: [HubSpotConnector] })
export class HubSpotConnectorModule {}
