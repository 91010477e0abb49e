// A worker thread running a module of this code base, whether it runs compiled (dist/) or from TypeScript.
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';

/** A worker running `moduleUrl`: as is when compiled to JS; through tsx's loader when run from TypeScript. */
export function workerFor(moduleUrl: string, data: object): Worker {
  if (!moduleUrl.endsWith('.ts')) return new Worker(fileURLToPath(moduleUrl), { workerData: data });
  const boot = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(moduleUrl)}); })`;
  return new Worker(boot, { eval: true, workerData: data });
}
