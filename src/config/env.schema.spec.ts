import { ConfigError, databaseTarget, parseEnv } from './env.schema';
import { parseSynclineConfig } from './syncline-config.loader';

describe('environment schema', () => {
  it('applies defaults: port 3000 and an embedded SQLite file under ./data', () => {
    const env = parseEnv({});
    expect(env.PORT).toBe(3000);
    expect(databaseTarget(env)).toEqual({ type: 'sqlite', file: 'data/syncline.sqlite' });
  });

  it('selects PostgreSQL from a postgres:// URL', () => {
    expect(databaseTarget(parseEnv({ DATABASE_URL: 'postgres://u@h:5432/db' }))).toMatchObject({
      type: 'postgres',
    });
  });

  it.each([
    [{ PORT: 'eighty' }, /PORT/],
    [{ PORT: '70000' }, /PORT/],
    [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL: must start with sqlite/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL/],
    [{ REDIS_URL: 'localhost:6379' }, /REDIS_URL/],
  ])('names the bad variable in %j', (env, message) => {
    expect(() => parseEnv(env)).toThrow(ConfigError);
    expect(() => parseEnv(env)).toThrow(message);
  });
  it('SYNCLINE_CONNECTORS: a comma-separated list of ids, absent or empty meaning every connector', () => {
    expect(parseEnv({ SYNCLINE_CONNECTORS: ' salesforce, sendgrid ,' }).SYNCLINE_CONNECTORS).toEqual([
      'salesforce',
      'sendgrid',
    ]);
    expect(parseEnv({ SYNCLINE_CONNECTORS: '' }).SYNCLINE_CONNECTORS).toBeUndefined();
    expect(parseEnv({}).SYNCLINE_CONNECTORS).toBeUndefined();
  });
});

describe('syncline.yaml', () => {
  it('accepts an empty file as the valid default', () => {
    expect(parseSynclineConfig('')).toEqual({ version: 1, connections: [], syncs: [] });
  });

  it('names the file, line and field of a bad value', () => {
    const text = [
      'connections:',
      '  - id: sf',
      '    connector: salesforce',
      'syncs:',
      '  - id: s1',
      '    source: { connection: nope, object: Contact }',
      '',
    ].join('\n');
    expect(() => parseSynclineConfig(text, 'conf/syncline.yaml')).toThrow(
      /conf\/syncline\.yaml:6: syncs\.0\.source\.connection: unknown connection "nope"/,
    );
  });

  it('reports YAML syntax errors with their line', () => {
    expect(() => parseSynclineConfig('connections:\n  - id: [unclosed\n', 'x.yaml')).toThrow(/x\.yaml:\d+/);
  });

  it('rejects unknown keys instead of ignoring a typo', () => {
    expect(() => parseSynclineConfig('conections: []\n')).toThrow(/conections|Unrecognized/);
  });
});
