// The __Name__ plug-in as one Nest module; ConnectorsModule finds it by folder and its provider by decorator.
import { Module } from '@nestjs/common';
import { __Class__Connector } from './__id__.connector';

@Module({ providers: [__Class__Connector], exports: [__Class__Connector] })
export class __Class__ConnectorModule {}
