// Checks sandbox responses against SendGrid's published OpenAPI 3.1 documents (../shared/vendor-specs/sendgrid,
// beside the repository). Test support only: it reads the spec files, resolves each operation's response
// schema (following $refs inside the documents) and validates with ajv's 2020-12 dialect. A missing spec is
// an error, never a skip: tests that cannot check fidelity must not pass.
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import fs from 'node:fs';
import path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '../../..');
export const SPEC_DIR = path.resolve(REPO_ROOT, '../shared/vendor-specs/sendgrid');
export const SPEC_FILES = [
  'tsg_mc_contacts_v3.json',
  'tsg_mc_custom_fields_v3.json',
  'tsg_mc_lists_v3.json',
  'tsg_webhooks_v3.json',
] as const;

/**
 * Places where the published spec contradicts itself; each is patched narrowly and asserted by a test so it
 * is dropped when SendGrid fixes the document.
 */
export const SPEC_ERRATA = [
  {
    file: 'tsg_mc_contacts_v3.json',
    pointer:
      '/paths/~1v3~1marketing~1contacts/delete/responses/202/content/application~1json/schema/properties/job_id',
    expected: { type: 'object' },
    replacement: { type: 'string', description: 'The deletion job ID.' },
    why: 'GetImportContact says to pass the job_id of "Delete Contacts" as its {id} path parameter, so it is a string.',
  },
] as const;

type Json = any;

function pointerGet(doc: Json, pointer: string): Json {
  return pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((o, k) => (o === undefined ? undefined : o[k]), doc);
}

/** OpenAPI 3.0's `nullable: true` (still used in these 3.1 files) means "or null" in JSON Schema terms. */
function normalise(node: Json): Json {
  if (Array.isArray(node)) return node.map(normalise);
  if (!node || typeof node !== 'object') return node;
  const out: Json = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === 'example' || k === 'examples') continue; // annotations whose OpenAPI form is not JSON Schema's
    out[k] = normalise(v);
  }
  if (out.nullable === true) {
    delete out.nullable;
    if (typeof out.type === 'string') out.type = [out.type, 'null'];
  }
  return out;
}

export class SendGridSpecValidator {
  private readonly docs = new Map<string, Json>();
  private readonly ajv: Ajv2020;
  private readonly cache = new Map<string, ValidateFunction | null>();

  constructor(specDir = SPEC_DIR) {
    if (!fs.existsSync(specDir))
      throw new Error(
        `SendGrid OpenAPI specs not found at ${specDir}. They must sit beside the repository as ` +
          `../shared/vendor-specs/sendgrid (${SPEC_FILES.join(', ')}); response validation cannot run without them.`,
      );
    this.ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
    addFormats(this.ajv);
    for (const f of SPEC_FILES) {
      const file = path.join(specDir, f);
      if (!fs.existsSync(file)) throw new Error(`SendGrid OpenAPI spec missing: ${file}`);
      const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
      for (const e of SPEC_ERRATA.filter((x) => x.file === f)) {
        const parentPtr = e.pointer.slice(0, e.pointer.lastIndexOf('/'));
        const key = e.pointer.slice(e.pointer.lastIndexOf('/') + 1);
        pointerGet(doc, parentPtr)[key] = { ...e.replacement };
      }
      this.docs.set(f, doc);
      // Components are registered under the file name so operation schemas can $ref them.
      this.ajv.addSchema({ $id: `sg:${f}`, components: normalise(doc.components ?? {}) });
    }
  }

  /** The raw (unpatched) value at a pointer in a spec file, for erratum checks. */
  static rawAt(file: string, pointer: string, specDir = SPEC_DIR): Json {
    return pointerGet(JSON.parse(fs.readFileSync(path.join(specDir, file), 'utf8')), pointer);
  }

  private find(method: string, pathTemplate: string): { file: string; doc: Json; op: Json } {
    for (const [file, doc] of this.docs) {
      const op = doc.paths?.[pathTemplate]?.[method.toLowerCase()];
      if (op) return { file, doc, op };
    }
    throw new Error(`no operation ${method.toUpperCase()} ${pathTemplate} in the SendGrid specs`);
  }

  private validatorFor(method: string, pathTemplate: string, status: number): ValidateFunction | null {
    const key = `${method} ${pathTemplate} ${status}`;
    if (this.cache.has(key)) return this.cache.get(key)!;
    const { file, doc, op } = this.find(method, pathTemplate);
    let response = op.responses?.[String(status)];
    if (!response)
      throw new Error(
        `${method.toUpperCase()} ${pathTemplate} answered ${status}, which the spec does not document ` +
          `(documented: ${Object.keys(op.responses ?? {}).join(', ')})`,
      );
    if (response.$ref) response = pointerGet(doc, response.$ref.slice(1));
    const schema = response?.content?.['application/json']?.schema;
    const rewriteRefs = (n: Json): Json => {
      if (Array.isArray(n)) return n.map(rewriteRefs);
      if (!n || typeof n !== 'object') return n;
      const o: Json = {};
      for (const [k, v] of Object.entries(n))
        o[k] =
          k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `sg:${file}${v}` : rewriteRefs(v);
      return o;
    };
    const fn = schema ? this.ajv.compile(rewriteRefs(normalise(schema))) : null;
    this.cache.set(key, fn);
    return fn;
  }

  /** Throws with ajv's messages unless `body` is what the spec documents for this operation and status. */
  assertResponse(method: string, pathTemplate: string, status: number, body: unknown): void {
    const fn = this.validatorFor(method, pathTemplate, status);
    if (!fn) {
      // A 204 has no body by definition; other statuses without documented content leave the body unchecked.
      if (status === 204 && body !== undefined && body !== '')
        throw new Error(
          `${method.toUpperCase()} ${pathTemplate} 204 carried a body: ${JSON.stringify(body)}`,
        );
      return;
    }
    if (!fn(body))
      throw new Error(
        `${method.toUpperCase()} ${pathTemplate} ${status} does not match the SendGrid spec:\n` +
          this.ajv.errorsText(fn.errors, { separator: '\n' }) +
          `\nbody: ${JSON.stringify(body).slice(0, 500)}`,
      );
  }

  /** Validates against a named component schema (for statuses the operation leaves undocumented, like 429). */
  assertComponent(file: string, schemaName: string, body: unknown): void {
    const fn = this.ajv.getSchema(`sg:${file}#/components/schemas/${schemaName}`);
    if (!fn) throw new Error(`no schema ${schemaName} in ${file}`);
    if (!fn(body))
      throw new Error(`${schemaName}: ${this.ajv.errorsText(fn.errors)}; body ${JSON.stringify(body)}`);
  }
}
