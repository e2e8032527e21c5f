// The Salesforce plug-in: one provider, found by ConnectorRegistry through @SynclineConnector.
import { Module } from '@nestjs/common';
import { SalesforceConnector } from './salesforce.connector';

@Module({ providers: [SalesforceConnector], exports: [SalesforceConnector] })
export class SalesforceConnectorModule {}
