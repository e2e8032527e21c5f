// docs/prometheus-alerts.yml must only use metrics Syncline exposes (a renamed metric would leave an alert that can
// never fire) and be well-formed rules. The metric names come from a real scrape of the running app.
import * as fs from 'node:fs';
import * as path from 'node:path';
import request from 'supertest';
import { parse } from 'yaml';
import { startEnvironment, type Environment } from '../../scripts/lib/sandbox-environment';

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: { severity?: string };
  annotations?: { summary?: string };
}

describe('docs/prometheus-alerts.yml', () => {
  let env: Environment;
  beforeAll(async () => {
    env = await startEnvironment({
      contacts: 0,
      env: { LOG_LEVEL: 'silent', SYNCLINE_BACKGROUND_JOBS: 'off' },
    });
  });
  afterAll(() => env?.close());

  it('alerts only on metrics GET /metrics exposes, each rule with a severity, a duration and a summary', async () => {
    const file = path.join(__dirname, '../../docs/prometheus-alerts.yml');
    const doc = parse(fs.readFileSync(file, 'utf8')) as { groups: { name: string; rules: Rule[] }[] };
    const rules = doc.groups.flatMap((g) => g.rules);
    expect(rules.length).toBeGreaterThanOrEqual(5);
    const res = await request(env.url)
      .get('/metrics')
      .set('Authorization', `Bearer ${env.token}`)
      .expect(200);
    const exposed = new Set([...res.text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
    for (const rule of rules) {
      const used = [...rule.expr.matchAll(/\b(syncline_[a-z_]+)/g)].map((m) => m[1]);
      expect({ alert: rule.alert, unknown: used.filter((m) => !exposed.has(m)) }).toEqual({
        alert: rule.alert,
        unknown: [],
      });
      expect(used.length).toBeGreaterThan(0);
      expect(rule.for).toMatch(/^\d+[smh]$/);
      expect(['critical', 'warning', 'info']).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary).toBeTruthy();
    }
  });
});
