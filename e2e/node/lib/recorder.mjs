// A recording fetch: the SDKs take a fetch function, so every request they
// make (discovery, registration, token, MCP) can be observed and reported to
// the Go test, which asserts on it. Secrets are replaced by short hashes.
import { createHash } from 'node:crypto';

export const digest = (s) => (s ? createHash('sha256').update(String(s)).digest('hex').slice(0, 16) : undefined);

const SECRET_FIELDS = new Set(['code', 'code_verifier', 'refresh_token', 'client_secret', 'access_token']);

function redactForm(params) {
  const out = {};
  for (const [k, v] of params) out[k] = SECRET_FIELDS.has(k) ? `sha256:${digest(v)}` : v;
  return out;
}

function redactJSON(obj) {
  if (!obj || typeof obj !== 'object') return obj;
  const out = Array.isArray(obj) ? [] : {};
  for (const [k, v] of Object.entries(obj)) out[k] = SECRET_FIELDS.has(k) || k === 'registration_access_token' ? `sha256:${digest(v)}` : v;
  return out;
}

export function recordingFetch(log) {
  return async (input, init = {}) => {
    const req = new Request(input, init);
    const entry = { method: req.method, url: req.url };
    const auth = req.headers.get('authorization');
    if (auth) {
      const [scheme, cred = ''] = auth.split(' ');
      entry.auth_scheme = scheme;
      if (scheme.toLowerCase() === 'bearer') entry.bearer = `sha256:${digest(cred)}`;
      if (scheme.toLowerCase() === 'basic') {
        const raw = Buffer.from(cred, 'base64').toString();
        entry.basic_user = raw.slice(0, raw.indexOf(':'));
        entry.basic_password_empty = raw.endsWith(':');
      }
    }
    const ct = req.headers.get('content-type') ?? '';
    if (init.body !== undefined && init.body !== null) {
      const text = await req.clone().text();
      if (ct.startsWith('application/x-www-form-urlencoded')) entry.form = redactForm(new URLSearchParams(text));
      else if (ct.startsWith('application/json') && !new URL(req.url).pathname.endsWith('/mcp')) {
        try { entry.json = redactJSON(JSON.parse(text)); } catch { /* not JSON */ }
      }
    }
    let res;
    try {
      res = await fetch(input, init);
    } catch (e) {
      entry.error = String(e);
      log.push(entry);
      throw e;
    }
    entry.status = res.status;
    entry.cache_control = res.headers.get('cache-control') ?? undefined;
    entry.www_authenticate = res.headers.get('www-authenticate') ?? undefined;
    entry.content_type = res.headers.get('content-type') ?? undefined;
    if ((entry.content_type ?? '').startsWith('application/json') && !new URL(req.url).pathname.endsWith('/mcp')) {
      try { entry.response = redactJSON(await res.clone().json()); } catch { /* not JSON */ }
    }
    log.push(entry);
    return res;
  };
}
