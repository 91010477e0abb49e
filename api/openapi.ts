// The OpenAPI document as tools expect it. Our schemas are JSON Schema as Ajv validates them (TypeBox writes
// `exclusiveMinimum: 0`, `const`), while the document is OpenAPI 3.0.3, whose schema dialect has the boolean
// `exclusiveMinimum` and no `const`: Swagger UI, openapi-spec-validator and client generators refuse the former.
// So the document (only the document; validation keeps the routes' own schemas) is rewritten into 3.0 terms, and
// every operation gets an operationId (what generators name functions after), the 401 and 403 every token-checked
// route can answer and the 429 of the throttles in front of all of them.
const HTTP_METHODS = new Set(['get', 'put', 'post', 'patch', 'delete', 'head', 'options']);

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** One schema node in 3.0 terms: numeric exclusive bounds become boolean ones, `const` becomes a one-value enum. */
function toOpenApi30Schema(node: JsonObject): void {
  for (const [bound, exclusive] of [['minimum', 'exclusiveMinimum'], ['maximum', 'exclusiveMaximum']] as const) {
    const x = node[exclusive];
    if (typeof x !== 'number') continue;
    const inclusive = node[bound];
    // Both given: keep the stricter of the two (x is exclusive, so it wins ties).
    const exclusiveWins = typeof inclusive !== 'number' || (bound === 'minimum' ? x >= inclusive : x <= inclusive);
    if (exclusiveWins) {
      node[bound] = x;
      node[exclusive] = true;
    } else {
      delete node[exclusive];
    }
  }
  if ('const' in node) {
    node.enum = [node.const as Json];
    delete node.const;
  }
}

function walk(node: Json): void {
  if (Array.isArray(node)) {
    for (const item of node) walk(item);
    return;
  }
  if (!isObject(node)) return;
  toOpenApi30Schema(node);
  for (const v of Object.values(node)) walk(v);
}

/** `get /api/v1/firms/{firmId}/devices` → `getFirmsFirmIdDevices` (unique per method and path). */
export function operationIdOf(method: string, route: string): string {
  const words = route.replace(/^\/api\/v1\//, '/').split(/[^A-Za-z0-9]+/).filter(Boolean);
  return method.toLowerCase() + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
}

const TOO_MANY: JsonObject = {
  description: 'Too many requests from this token or session, or too many failed authentications from this address: wait the Retry-After seconds',
  headers: { 'Retry-After': { description: 'seconds to wait', schema: { type: 'integer' } } },
  content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorBody' } } },
};

const UNAUTHORISED: JsonObject = {
  description: 'No token, or a token that is unknown, revoked or expired (the body says which)',
  content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorBody' } } },
};

// Every checked route can refuse a principal it knows: a role or firm that may not, a cookie-carried change from
// another site, or a person who must set a new password first (api/auth.ts, api/access.ts).
const FORBIDDEN: JsonObject = {
  description: 'Not allowed: the role or firm may not do this, a signed-in change did not come from the dashboard itself, or the person must set a new password first (the body says which)',
  content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorBody' } } },
};

/** Rewrites the generated document in place into valid OpenAPI 3.0.3 with operationIds, 401s and 403s; returns it. */
export function openApi30<T>(doc: T): T {
  if (!isObject(doc)) return doc;
  walk(doc);
  const paths = isObject(doc.paths) ? doc.paths : {};
  for (const [route, ops] of Object.entries(paths)) {
    if (!isObject(ops)) continue;
    for (const [method, op] of Object.entries(ops)) {
      if (!HTTP_METHODS.has(method) || !isObject(op)) continue;
      op.operationId ??= operationIdOf(method, route);
      const responses = isObject(op.responses) ? op.responses : (op.responses = {});
      if (!route.startsWith('/api/v1/')) continue;
      // Every /api/v1 route passes the address throttle and the per-caller rate limit (api/auth.ts, api/app.ts).
      responses['429'] ??= TOO_MANY;
      // Open routes (signing in) are marked `security: []` and need no credential.
      if (Array.isArray(op.security) && op.security.length === 0) continue;
      responses['401'] ??= UNAUTHORISED;
      responses['403'] ??= FORBIDDEN;
    }
  }
  return doc;
}
