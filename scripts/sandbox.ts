// Runs one vendor sandbox as its own process: `npm run sandbox -- <vendor> --port N --seed N --count N
// [--webhook-url URL] [--host H] [--options JSON]`. Vendors are discovered, not listed: any connectors/<vendor>/
// with sandbox/index.ts exporting startSandbox. Stdout carries exactly one JSON line once the server listens
// ({vendor, url, pid, credentials}) so a parent (bench, demo) can parse it; human text goes to stderr.
import fs from 'node:fs';
import path from 'node:path';
import type { SandboxOptions, VendorSandbox } from '../src/sandbox/sandbox.types';

const CONNECTORS_DIR = path.resolve(__dirname, '..', 'connectors');
/** Exit codes: 2 = bad invocation (unknown vendor, bad flag), 1 = the sandbox failed to start or stop. */
const EXIT_USAGE = 2;
const CLOSE_TIMEOUT_MS = 5_000;

const USAGE =
  'usage: npm run sandbox -- <vendor> [--port N] [--seed N] [--count N] [--webhook-url URL] [--host H] [--options JSON]';

export interface SandboxCliArgs {
  vendor: string;
  options: SandboxOptions & Record<string, unknown>;
}

class UsageError extends Error {}

/** connectors/<vendor>/sandbox/index.ts, or index.js when running compiled from dist/. */
function sandboxEntry(vendorDir: string): string | undefined {
  return ['index.ts', 'index.js']
    .map((f) => path.join(vendorDir, 'sandbox', f))
    .find((f) => fs.existsSync(f));
}

/** Vendors whose folder has a sandbox entry point, sorted for a stable error message. */
export function availableVendors(dir = CONNECTORS_DIR): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && sandboxEntry(path.join(dir, d.name)) !== undefined)
    .map((d) => d.name)
    .sort();
}

function intFlag(name: string, raw: string | undefined, min: number): number {
  const n = Number(raw);
  if (raw === undefined || raw.trim() === '' || !Number.isInteger(n) || n < min)
    throw new UsageError(
      `--${name} needs an integer >= ${min}, got ${raw === undefined ? 'nothing' : `'${raw}'`}`,
    );
  return n;
}

export function parseArgs(argv: string[]): SandboxCliArgs {
  let vendor: string | undefined;
  const options: SandboxOptions & Record<string, unknown> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    // Both `--port 3000` and `--port=3000` are accepted.
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq > 0 ? arg.slice(2, eq) : arg.startsWith('--') ? arg.slice(2) : undefined;
    if (flag === undefined) {
      if (vendor !== undefined) throw new UsageError(`unexpected argument '${arg}'`);
      vendor = arg;
      continue;
    }
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    switch (flag) {
      case 'port':
        options.port = intFlag(flag, value, 0);
        break;
      case 'seed':
        options.seed = intFlag(flag, value, 0);
        break;
      case 'count':
        options.count = intFlag(flag, value, 0);
        break;
      case 'host':
        if (!value) throw new UsageError('--host needs a value');
        options.host = value;
        break;
      case 'webhook-url':
        if (!value || !/^https?:\/\//.test(value))
          throw new UsageError(`--webhook-url needs an http(s) URL, got '${value ?? ''}'`);
        options.webhookUrl = value;
        break;
      case 'options': {
        // Vendor-specific startSandbox options (e.g. HubSpot's rateLimit) without teaching this script about them.
        let extra: unknown;
        try {
          extra = JSON.parse(value ?? '');
        } catch {
          throw new UsageError('--options needs a JSON object');
        }
        if (typeof extra !== 'object' || extra === null || Array.isArray(extra))
          throw new UsageError('--options needs a JSON object');
        Object.assign(options, extra);
        break;
      }
      case 'help':
        throw new UsageError(USAGE);
      default:
        throw new UsageError(`unknown flag '--${flag}'`);
    }
  }
  if (!vendor)
    throw new UsageError(`no vendor given; available: ${availableVendors().join(', ') || '(none)'}`);
  return { vendor, options };
}

type StartSandbox = (opts: SandboxOptions) => Promise<VendorSandbox>;

function loadStartSandbox(vendor: string): StartSandbox {
  const vendors = availableVendors();
  // Only discovered folder names are loaded, so a vendor argument can never point outside connectors/.
  if (!vendors.includes(vendor))
    throw new UsageError(`unknown vendor '${vendor}'; available: ${vendors.join(', ') || '(none)'}`);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(sandboxEntry(path.join(CONNECTORS_DIR, vendor))!) as { startSandbox?: unknown };
  if (typeof mod.startSandbox !== 'function')
    throw new Error(`connectors/${vendor}/sandbox/index.ts does not export startSandbox`);
  return mod.startSandbox as StartSandbox;
}

async function main(): Promise<void> {
  let args: SandboxCliArgs;
  let start: StartSandbox;
  try {
    args = parseArgs(process.argv.slice(2));
    start = loadStartSandbox(args.vendor);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`sandbox: ${e.message}\n${e.message === USAGE ? '' : `${USAGE}\n`}`);
    process.exit(EXIT_USAGE);
  }

  const sandbox = await start(args.options);
  process.stdout.write(
    `${JSON.stringify({ vendor: sandbox.vendor, url: sandbox.url, pid: process.pid, credentials: sandbox.credentials })}\n`,
  );
  process.stderr.write(
    `${sandbox.vendor} sandbox listening on ${sandbox.url}` +
      `${args.options.count ? ` with ${args.options.count} contacts (seed ${args.options.seed ?? 1})` : ''}; Ctrl-C to stop\n`,
  );

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    // A second signal means the user does not want to wait for the graceful close.
    if (stopping) process.exit(1);
    stopping = true;
    process.stderr.write(`${signal}: closing ${sandbox.vendor} sandbox\n`);
    const force = setTimeout(() => {
      process.stderr.write('sandbox: close timed out\n');
      process.exit(1);
    }, CLOSE_TIMEOUT_MS);
    force.unref();
    sandbox.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`sandbox: close failed: ${(err as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`sandbox: failed to start: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
