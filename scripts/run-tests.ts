// Runs every test file under test/ with Node's test runner (files run in parallel, two at a time on 2 cores).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './launch.ts';

const only = process.argv.slice(2);
const files = fs.readdirSync(path.join(ROOT, 'test'), { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.test.ts'))
  .map((f) => path.join('test', f))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
fs.mkdirSync(path.join(ROOT, 'test-results'), { recursive: true });
const concurrency = process.env.TEST_CONCURRENCY ?? '2';
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files], { cwd: ROOT, stdio: 'inherit' });
process.exit(r.status ?? 1);
