// Provisioning simulated devices through the API, as a factory engineer would.
import type { DeviceCredentials } from './device.ts';

export async function provisionDevice(apiUrl: string, apiToken: string, firmId: string, type: string, name: string, location = ''): Promise<DeviceCredentials> {
  const res = await fetch(`${apiUrl}/api/v1/firms/${encodeURIComponent(firmId)}/devices`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ type, name, location }),
  });
  const body = (await res.json()) as { id?: string; token?: string; message?: string };
  if (res.status !== 201 || !body.id || !body.token) throw new Error(`provisioning ${type} under ${firmId} failed (${res.status}): ${body.message ?? 'no detail'}`);
  return { id: body.id, firmId, type, token: body.token };
}
