// Owns the database connection (TypeORM DataSource, migrations at boot) and the repositories.
import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from '../config/app-config';
import { CustomerRepository } from './customer.repository';
import { Database } from './database';
import { dataSourceOptions, openDataSource } from './data-source';
import { WalCheckpointer } from './wal-checkpointer';
import { DataSource } from 'typeorm';

@Global()
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => dataSourceOptions(config.database),
      dataSourceFactory: async (options) => openDataSource(options!),
    }),
  ],
  providers: [
    { provide: Database, inject: [DataSource], useFactory: (ds: DataSource) => new Database(ds) },
    CustomerRepository,
    WalCheckpointer,
  ],
  exports: [Database, CustomerRepository, WalCheckpointer],
})
export class StoreModule {}
