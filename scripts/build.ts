// `npm run build`: the services compiled into dist/ (tsconfig.build.json, same layout as the sources) with the
// files they read beside their code copied next to the JavaScript: the web dashboard and the simulator scenarios.
// Production then runs `node dist/api/main.js` (and broker/, ingest/, simulators/cli.js) without tsx.
//   node --import tsx scripts/build.ts [--out-dir DIR]   (DIR inside the repository, so node_modules resolves)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Read from disk relative to the module that serves or loads them (api/app.ts, simulators/scenario.ts). */
export const ASSETS = ['api/public', 'simulators/scenarios'] as const;

export function build(outDir = path.join(ROOT, 'dist')): void {
  const out = path.resolve(outDir);
  const rel = path.relative(ROOT, out);
  // Compiled files import their packages from the repository's node_modules and need its "type": "module".
  if (!rel || rel.startsWith('..') || path.isAbsolute(rel)) throw new Error(`--out-dir must be a folder inside ${ROOT}, got ${out}`);
  // Emptied first: a module deleted from the sources must not live on in the build.
  fs.rmSync(out, { recursive: true, force: true });
  const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', path.join(ROOT, 'tsconfig.build.json'), '--outDir', out], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`tsc failed (${r.status ?? r.signal})`);
  for (const a of ASSETS) fs.cpSync(path.join(ROOT, a), path.join(out, a), { recursive: true });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { 'out-dir': { type: 'string' } } });
  try {
    build(values['out-dir']);
  } catch (err) {
    console.error((err as Error).message);
    process.exit(1);
  }
}
