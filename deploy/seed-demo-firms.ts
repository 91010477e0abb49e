// Registers the Dehong demo firms (common/demo.ts, marked demo = true) through the API with the admin token, so the
// simulators of the docker-compose `simulators` profile have firms to provision their devices under. Firms that
// are already registered (409) are left as they are; it waits up to a minute for the API to answer.
//
//   node --import tsx deploy/seed-demo-firms.ts --api http://api:8080        (token from ADMIN_TOKEN)
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { demoFirms } from '../common/demo.ts';

export interface SeedResult {
  added: number;
  present: number;
}

export async function seedDemoFirmsViaApi(apiUrl: string, token: string, waitMs = 60_000): Promise<SeedResult> {
  const deadline = Date.now() + waitMs;
  const result: SeedResult = { added: 0, present: 0 };
  for (const firm of demoFirms()) {
    for (;;) {
      let status: number;
      let message = '';
      try {
        const res = await fetch(`${apiUrl}/api/v1/firms`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify(firm),
          signal: AbortSignal.timeout(10_000),
        });
        status = res.status;
        message = ((await res.json().catch(() => ({}))) as { message?: string }).message ?? '';
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`API at ${apiUrl} not reachable: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      if (status === 201) result.added++;
      else if (status === 409) result.present++;
      else if (status >= 500 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      } else throw new Error(`registering demo firm ${firm.id} (${firm.name}) failed (${status}): ${message || 'no detail'}`);
      break;
    }
  }
  return result;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { api: { type: 'string', default: process.env.API_URL ?? 'http://127.0.0.1:8080' } } });
  const token = process.env.ADMIN_TOKEN;
  if (!token) {
    console.error('ADMIN_TOKEN must be set (the API admin token)');
    process.exit(2);
  }
  const r = await seedDemoFirmsViaApi(values.api as string, token);
  console.log(`demo firms: ${r.added} registered now, ${r.present} already there`);
}
