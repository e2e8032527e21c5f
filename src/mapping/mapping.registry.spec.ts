import { Injectable, Module, type OnModuleInit } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { mapInbound } from './mapping.engine';
import { parseMappingFile } from './mapping.loader';
import { MappingModule } from './mapping.module';
import { MappingRegistry } from './mapping.registry';
import { MappingValidationError } from './mapping-validation.error';
import type { CompiledMapping } from './mapping.types';
import { TransformRegistry } from './transforms/transform.registry';
import { defineTransform } from './transforms/transform.types';
import { noArgs } from './transforms/transform.util';

const SHIPPED = path.join(__dirname, '..', '..', 'mappings');

describe('MappingRegistry outside Nest', () => {
  const registry = new MappingRegistry({ dir: SHIPPED });

  it('gets a mapping by connector and object, case-insensitively', () => {
    expect(registry.get('salesforce', 'Contact').object).toBe('Contact');
    expect(registry.get('salesforce', 'contact')).toBe(registry.get('salesforce', 'Contact'));
    expect(registry.has('hubspot', 'contacts')).toBe(true);
    expect(registry.find('hubspot', 'deals')).toBeUndefined();
    expect(() => registry.get('hubspot', 'deals')).toThrow('no mapping for hubspot/deals');
  });

  it('lists mappings, per connector too, and their versions', () => {
    // Only the shipped mappings: the generator's spec may add a zz-gen-* one while suites run in parallel.
    expect(registry.list().filter((m) => !m.connector.startsWith('zz-gen-'))).toHaveLength(4);
    expect(
      registry
        .list('salesforce')
        .map((m) => m.object)
        .sort(),
    ).toEqual(['Contact', 'Lead']);
    expect(registry.versions()).toEqual(
      expect.objectContaining({
        'hubspot/contacts': 2,
        'salesforce/Contact': 1,
        'salesforce/Lead': 1,
        'sendgrid/contacts': 1,
      }),
    );
  });

  it('accepts compiled mappings directly', () => {
    const { mapping } = parseMappingFile(
      'connector: acme\nobject: people\nversion: 4\nidentity: { key: id }\n',
      'x.yaml',
    );
    const r = new MappingRegistry({ mappings: [mapping as CompiledMapping] });
    expect(r.versions()).toEqual({ 'acme/people': 4 });
  });

  it('throws every error of a bad directory on load', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mapping-registry-'));
    try {
      fs.mkdirSync(path.join(dir, 'acme'));
      fs.writeFileSync(
        path.join(dir, 'acme', 'people.yaml'),
        'connector: acme\nobject: people\nversion: 0\nidentity: {}\n',
      );
      const r = new MappingRegistry({ dir });
      expect(() => r.load()).toThrow(MappingValidationError);
      expect(() => r.list()).toThrow(/people\.yaml:3: version: .*\n.*people\.yaml:4: identity\.key/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('MappingModule in Nest', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mapping-module-'));
    fs.mkdirSync(path.join(dir, 'acme'));
    fs.writeFileSync(
      path.join(dir, 'acme', 'people.yaml'),
      'connector: acme\nobject: people\nversion: 2\nidentity: { key: id }\ninbound:\n  email: { from: mail, transforms: [acme.unwrap] }\n',
    );
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  // A connector module registering its own transform during init, as connectors do.
  @Injectable()
  class AcmeTransforms implements OnModuleInit {
    constructor(private readonly transforms: TransformRegistry) {}
    onModuleInit(): void {
      this.transforms.registerAll([
        defineTransform('acme.unwrap', noArgs, (v) => (v as { address: string }).address),
      ]);
    }
  }
  @Module({ providers: [AcmeTransforms] })
  class AcmeModule {}

  it('validates at bootstrap, after connectors registered their transforms', async () => {
    const app = await Test.createTestingModule({
      imports: [MappingModule.forRoot({ dir }), AcmeModule],
    }).compile();
    await app.init();
    const registry = app.get(MappingRegistry);
    expect(registry.transforms).toBe(app.get(TransformRegistry));
    const r = mapInbound(registry.get('acme', 'people'), { id: 9, mail: { address: 'a@acme.example' } });
    expect(r.fields).toEqual({ email: 'a@acme.example' });
    await app.close();
  });

  it('stops the boot with the full error list when a mapping is invalid', async () => {
    const app = await Test.createTestingModule({ imports: [MappingModule.forRoot({ dir })] }).compile();
    await expect(app.init()).rejects.toThrow(
      'people.yaml:6: inbound.email.transforms[0]: unknown transform "acme.unwrap"',
    );
  });
});
