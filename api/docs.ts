// GET /docs: the OpenAPI document as a page (zh-CN first, English after), or as JSON when the client asks for
// it. Built from app.swagger() at request time, so it lists exactly the routes the API has. GET /api/v1/docs
// (with a token): the monitoring areas and their main paths.
import type { FastifyInstance } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';

interface OpenApiOperation { summary?: string; tags?: string[] }
interface OpenApiDoc { info?: { title?: string; version?: string; description?: string }; paths?: Record<string, Record<string, OpenApiOperation>> }

const HTTP_METHODS = ['get', 'put', 'post', 'patch', 'delete', 'head', 'options'];

const TAG_ZH: Record<string, string> = {
  health: '健康检查', firms: '企业', devices: '设备', telemetry: '遥测数据', contract: '消息契约', tokens: '令牌', session: '登录', users: '用户', audit: '审计',
  kpi: '指标', energy: '能耗', monitoring: '监测与 OEE', alarms: '告警', plan: '行动计划', docs: '文档',
};

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Whether the Accept header ranks application/json above text/html (HTML for browsers, wildcards and no header). */
function prefersJson(accept: string | undefined): boolean {
  let json = 0;
  let html = 0;
  for (const [i, part] of (accept ?? '').split(',').entries()) {
    const [type = '', ...params] = part.split(';').map((x) => x.trim().toLowerCase());
    const q = Number(params.find((p) => p.startsWith('q='))?.slice(2) ?? 1);
    // Equal q: the type listed first wins.
    const rank = Number.isFinite(q) && q > 0 ? q * 1000 - i : 0;
    if (type === 'application/json') json = Math.max(json, rank);
    else if (type === 'text/html') html = Math.max(html, rank);
  }
  return json > html;
}

/** The OpenAPI document as a page: every path with its summary, grouped by tag (zh-CN first, English after). */
function docsPage(doc: OpenApiDoc): string {
  const byTag = new Map<string, Array<{ method: string; path: string; op: OpenApiOperation }>>();
  for (const [p, ops] of Object.entries(doc.paths ?? {})) {
    for (const [method, op] of Object.entries(ops)) {
      if (!HTTP_METHODS.includes(method)) continue;
      for (const tag of op.tags?.length ? op.tags : ['other']) {
        const list = byTag.get(tag) ?? [];
        list.push({ method: method.toUpperCase(), path: p, op });
        byTag.set(tag, list);
      }
    }
  }
  const sections = [...byTag.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([tag, ops]) => {
    const rows = ops.map(({ method, path: p, op }) => {
      const open = !p.startsWith('/api/v1/') ? ' <small>（无需令牌 / no token）</small>' : '';
      return `<li><code>${escapeHtml(method)} ${escapeHtml(p)}</code>${open}${op.summary ? ` — ${escapeHtml(op.summary)}` : ''}</li>`;
    }).join('\n');
    return `<section id="tag-${escapeHtml(tag)}"><h2>${escapeHtml(TAG_ZH[tag] ?? tag)} <small>${escapeHtml(tag)}</small></h2>\n<ul>\n${rows}\n</ul></section>`;
  }).join('\n');
  const title = doc.info?.title ?? 'API';
  return `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>API 文档 / API docs — ${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.5}code{background:#f3f3f3;padding:0 .2em}small{color:#666}li{margin:.2rem 0}</style>
</head><body>
<h1>德宏纺织遥测 API 文档 <small>${escapeHtml(title)}${doc.info?.version ? ` ${escapeHtml(doc.info.version)}` : ''}</small></h1>
<p>机器可读的 OpenAPI 3 文档：<a href="/openapi.json">/openapi.json</a>（可导入 Postman、Swagger UI 等工具）；在浏览器中试用接口：<a href="/docs/ui">Swagger UI</a>。
<code>/api/v1</code> 下的接口需要请求头 <code>Authorization: Bearer &lt;令牌&gt;</code>。</p>
<p lang="en">The machine-readable OpenAPI 3 document is at <a href="/openapi.json">/openapi.json</a> (import it into Postman, Swagger UI and the like); try the API in the browser with <a href="/docs/ui">Swagger UI</a>.
Routes under <code>/api/v1</code> need the header <code>Authorization: Bearer &lt;token&gt;</code>. This page as JSON: send <code>Accept: application/json</code>.</p>
<p>实时推送（socket.io）：见 <code>docs/monitoring.md</code>“Live rooms”。 <span lang="en">Live push (socket.io): see docs/monitoring.md, "Live rooms".</span></p>
${sections}
</body></html>
`;
}

export function docsRoute(app: FastifyInstance): void {
  app.get('/docs', { schema: { hide: true } }, async (req, reply) => {
    const doc = app.swagger() as unknown as OpenApiDoc;
    if (prefersJson(req.headers.accept)) return reply.type('application/json; charset=utf-8').send(doc);
    return reply.type('text/html; charset=utf-8').send(docsPage(doc));
  });
}

const DOC_AREAS = [
  { area: 'energy', paths: ['/api/v1/energy/live', '/api/v1/energy/summary', '/api/v1/energy/series', '/api/v1/energy/intensity', '/api/v1/energy/quality', '/api/v1/energy/quality/overview', '/api/v1/energy/rollups.csv', '/api/v1/energy/summary.csv', '/api/v1/energy/factors'] },
  { area: 'monitoring', paths: ['/api/v1/monitoring/overview', '/api/v1/monitoring/states', '/api/v1/monitoring/oee', '/api/v1/monitoring/oee.csv', '/api/v1/monitoring/config'] },
  { area: 'alarms', paths: ['/api/v1/alarms', '/api/v1/alarms.csv', '/api/v1/alarm-rules'] },
  { area: 'plan', paths: ['/api/v1/plan/targets', '/api/v1/plan/targets.csv', '/api/v1/plan/connected-share', '/api/v1/plan/per-mu', '/api/v1/plan/firms/{firmId}/figures'] },
];

/** GET /api/v1/docs: where the API is documented, and the monitoring areas with their main paths. */
export const areaDocsRoute: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/docs', {
    schema: {
      tags: ['docs'], summary: 'Where the API is documented: the OpenAPI document and the monitoring areas (HTML when the client accepts it)',
    },
  }, async (req, reply) => {
    const body = { openapi: '/openapi.json', guide: 'docs/monitoring.md in the repository', areas: DOC_AREAS };
    if ((req.headers.accept ?? '').includes('text/html')) {
      const list = DOC_AREAS.map((a) => `<li><b>${a.area}</b>: ${a.paths.map((p) => `<code>${p}</code>`).join(', ')}</li>`).join('');
      return reply.type('text/html; charset=utf-8').send(`<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>API 文档 / API docs</title></head><body><h1>德宏纺织遥测 API / Dehong textile telemetry API</h1><p><a href="/openapi.json">OpenAPI 3 document (/openapi.json)</a></p><ul>${list}</ul></body></html>`);
    }
    return body;
  });
};
