// The SendGrid plug-in: one provider, found by the registry through its @SynclineConnector marker.
import { Module } from '@nestjs/common';
import { SendGridConnector } from './sendgrid.connector';

@Module({ providers: [SendGridConnector], exports: [SendGridConnector] })
export class SendGridConnectorModule {}
