import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { z } from 'zod';
import { loadMappings, loadMappingsDir, parseMappingFile } from './mapping.loader';
import { formatMappingError, MappingValidationError } from './mapping-validation.error';
import { TransformRegistry } from './transforms/transform.registry';

const FILE = 'mappings/salesforce/contact.yaml';

function errorsOf(text: string, registry?: TransformRegistry): string[] {
  return parseMappingFile(text, FILE, registry).errors.map(formatMappingError);
}

const VALID = `connector: salesforce
object: Contact
version: 1
identity: { key: Id }
inbound:
  email: { from: Email, transforms: [trim, lowercase] }
outbound:
  Email: { from: email }
`;

describe('parseMappingFile', () => {
  it('compiles a valid file', () => {
    const { mapping, errors } = parseMappingFile(VALID, FILE);
    expect(errors).toEqual([]);
    expect(mapping).toMatchObject({ connector: 'salesforce', object: 'Contact', version: 1, file: FILE });
    expect(mapping?.inbound.map((r) => r.target)).toEqual(['email']);
  });

  it('reports every semantic error with file, line and field, not just the first', () => {
    const text = `connector: salesforce
object: Contact
version: 1
identity: { key: Id }
inbound:
  email: { from: Email }
  phone:
    from: Phone
    transforms: [trim, e165]
  nickname: { from: Nick }
  custom.: { from: X }
outbound:
  Email: { from: mail }
  Name: { from: [firstName, surname], transforms: [{ join: " " }], clearable: true }
required: [email, phone2]
`;
    expect(errorsOf(text)).toEqual([
      `${FILE}:9: inbound.phone.transforms[1]: unknown transform "e165"`,
      `${FILE}:10: inbound.nickname: "nickname" is not a canonical field (a standard field or custom.<name>)`,
      `${FILE}:11: inbound.custom.: "custom." is not a canonical field (a standard field or custom.<name>)`,
      `${FILE}:13: outbound.Email.from: "mail" is not a canonical field`,
      `${FILE}:14: outbound.Name.clearable: clearable applies to inbound fields only`,
      `${FILE}:14: outbound.Name.from[1]: "surname" is not a canonical field`,
      `${FILE}:15: required[1]: "phone2" is not a canonical field`,
    ]);
  });

  it('points transform argument errors at the argument', () => {
    const text = `connector: hubspot
object: contacts
version: 2
identity: { key: id }
inbound:
  phone:
    from: properties.phone
    transforms:
      - e164:
          defaultCountry: usa
      - trim: yes
      - { constant: 1, extra: 2 }
`;
    expect(errorsOf(text)).toEqual([
      `${FILE}:10: inbound.phone.transforms[0].e164.defaultCountry: e164: must be an ISO 3166-1 alpha-2 code`,
      `${FILE}:11: inbound.phone.transforms[1].trim: trim: takes no arguments`,
      `${FILE}:12: inbound.phone.transforms[2]: a transform with args is one key: { name: args }`,
    ]);
  });

  it('reports schema errors (types, unknown and missing keys) with their lines', () => {
    const text = `connector: Salesforce
object: Contact
version: one
identity: { key: Id, extra: 1 }
inbond:
  email: { from: Email }
outbound:
  Email: { from: "" }
`;
    expect(errorsOf(text)).toEqual([
      `${FILE}:1: connector: must be a lowercase connector id`,
      `${FILE}:3: version: Invalid input: expected number, received string`,
      `${FILE}:4: identity.extra: unknown key "extra"`,
      `${FILE}:8: outbound.Email.from: must be a field name or a dotted path without spaces or empty segments`,
      `${FILE}:5: inbond: unknown key "inbond"`,
    ]);
  });

  it('reports a missing key at its parent', () => {
    const errors = errorsOf(`connector: salesforce\nobject: Contact\nversion: 1\nidentity:\n  keyy: Id\n`);
    expect(errors).toContain(`${FILE}:4: identity.key: Invalid input: expected string, received undefined`);
    expect(errors).toContain(`${FILE}:5: identity.keyy: unknown key "keyy"`);
  });

  it('reports YAML syntax errors with their line', () => {
    const errors = errorsOf(`connector: salesforce\nobject: Contact\ninbound:\n  email: { from: Email\n`);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]).toMatch(new RegExp(`^${FILE}:\\d+: `));
    expect(errorsOf(`connector: a\nconnector: b\n`)[0]).toMatch(new RegExp(`^${FILE}:2: .*[Uu]nique`));
  });

  it('requires a rule to have a source or a value-making transform', () => {
    expect(errorsOf(VALID.replace('outbound:', 'outbound:\n  LeadSource: {}'))).toEqual([
      `${FILE}:8: outbound.LeadSource: needs "from" or a transform that makes a value (such as constant)`,
    ]);
  });

  it('refuses required fields without an inbound rule, conflicting targets and reserved path segments', () => {
    const text = `connector: hubspot
object: contacts
version: 1
identity: { key: __proto__.id }
required: [phone]
inbound:
  email: { from: properties.email }
outbound:
  properties: { from: email }
  properties.email: { from: email }
`;
    expect(errorsOf(text)).toEqual([
      `${FILE}:5: required[0]: "phone" is required but has no inbound rule`,
      `${FILE}:4: identity.key: "__proto__.id" uses a reserved name as a path segment`,
      `${FILE}:10: outbound.properties.email: conflicts with outbound field "properties"`,
    ]);
  });

  it('accepts transforms a connector registered, and rejects them without the registration', () => {
    const text = VALID.replace('[trim, lowercase]', '[trim, { acme.domain: { keep: true } }]');
    expect(errorsOf(text)).toEqual([
      `${FILE}:6: inbound.email.transforms[1]: unknown transform "acme.domain"`,
    ]);
    const registry = new TransformRegistry().register(
      'acme.domain',
      (v) => v,
      z.object({ keep: z.boolean() }),
    );
    expect(errorsOf(text, registry)).toEqual([]);
    expect(errorsOf(text.replace('keep: true', 'keep: 1'), registry)).toEqual([
      `${FILE}:6: inbound.email.transforms[1].acme.domain.keep: acme.domain: Invalid input: expected boolean, received number`,
    ]);
  });
});

describe('loadMappingsDir', () => {
  let dir: string;
  const write = (rel: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), text);
  };
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mappings-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('loads every <vendor>/<object>.yaml', () => {
    write('salesforce/contact.yaml', VALID);
    write('salesforce/lead.yml', VALID.replace('Contact', 'Lead'));
    write('salesforce/README.md', '# not a mapping');
    const r = loadMappingsDir(dir);
    expect(r.errors).toEqual([]);
    expect(r.mappings.map((m) => m.object)).toEqual(['Contact', 'Lead']);
  });

  it('collects errors across files: duplicates, folder mismatch, misplaced files, bad content', () => {
    write('salesforce/contact.yaml', VALID);
    write('salesforce/contact-copy.yaml', VALID.replace('Contact', 'contact'));
    write('hubspot/contacts.yaml', VALID);
    write('stray.yaml', VALID);
    write(
      'sendgrid/contacts.yaml',
      VALID.replace('salesforce', 'sendgrid').replace('version: 1', 'version: 0'),
    );
    const { errors, mappings } = loadMappingsDir(dir);
    const lines = errors.map(formatMappingError).map((l) => l.replaceAll(dir, '<dir>'));
    expect(lines).toEqual([
      '<dir>/stray.yaml: a mapping file belongs in a vendor folder: <dir>/<vendor>/<object>.yaml',
      '<dir>/hubspot/contacts.yaml:1: connector: "salesforce" does not match its folder "hubspot"',
      '<dir>/salesforce/contact.yaml:2: object: salesforce/Contact is already mapped in <dir>/salesforce/contact-copy.yaml',
      '<dir>/sendgrid/contacts.yaml:3: version: Too small: expected number to be >0',
    ]);
    expect(mappings).toHaveLength(1);
  });

  it('reports a missing directory', () => {
    expect(loadMappingsDir(path.join(dir, 'nope')).errors[0].message).toBe('mappings directory not found');
  });

  it('loadMappings throws one MappingValidationError carrying the whole list', () => {
    write(
      'salesforce/contact.yaml',
      VALID.replace('from: email', 'from: mail').replace('trim, lowercase', 'trim, lowercas'),
    );
    let caught: unknown;
    try {
      loadMappings(dir);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(MappingValidationError);
    const err = caught as MappingValidationError;
    expect(err.errors.map((e) => `${e.line}:${e.field}`)).toEqual([
      '6:inbound.email.transforms[1]',
      '8:outbound.Email.from',
    ]);
    expect(err.message).toContain('2 mapping errors:');
    expect(err.message).toContain(
      'contact.yaml:6: inbound.email.transforms[1]: unknown transform "lowercas"',
    );
  });
});
