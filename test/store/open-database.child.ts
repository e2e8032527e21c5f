// Child process of concurrent-migrations.spec.ts: loads the store, says "ready", and when its parent writes a line,
// opens (and so migrates) the SQLite file named in argv, then answers "ok" or "failed: <reason>" and ends.
import { dataSourceOptions, openDataSource } from '../../src/store/data-source';

const file = process.argv[2];
process.stdout.write('ready\n');
process.stdin.once('data', () => {
  process.stdin.destroy();
  openDataSource(dataSourceOptions({ type: 'sqlite', file }))
    .then((ds) => ds.destroy())
    .then(
      () => process.stdout.write('ok\n'),
      (err: Error) => {
        process.stdout.write(`failed: ${err.message}\n`);
        process.exitCode = 1;
      },
    );
});
