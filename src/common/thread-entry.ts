// Where a worker thread's entry file is: compiled JavaScript beside the module that starts it, or TypeScript
// under ts-node / jest (the thread then registers ts-node itself, transpile-only).
import * as path from 'node:path';

/** @param caller the starting module's `__filename`; @param base the entry's name without extension */
export function threadEntry(caller: string, base: string): { file: string; execArgv: string[] } {
  const ts = caller.endsWith('.ts');
  return {
    file: path.join(path.dirname(caller), `${base}.${ts ? 'ts' : 'js'}`),
    execArgv: ts ? ['--require', 'ts-node/register/transpile-only'] : [],
  };
}
