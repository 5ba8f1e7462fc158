// A headless user agent for Gatehouse's pages: it follows redirects itself,
// keeps cookies, and fills in and submits the sign-in and consent forms it is
// shown, as a person in a browser would. It uses only what the pages offer;
// nothing reaches into the server.
import { parse } from 'parse5';

// A minimal RFC 6265 jar: host-only cookies keyed by host and name, with
// Max-Age/Expires deletion and path matching. Gatehouse sets host-only
// cookies on the issuer's host, which is all the driver needs.
export class CookieJar {
  #cookies = new Map(); // host -> Map(name -> {value, path, expires})

  store(url, setCookies) {
    const host = new URL(url).host;
    const jar = this.#cookies.get(host) ?? new Map();
    for (const line of setCookies) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq < 1) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let path = '/';
      let expires = Infinity;
      for (const a of attrs) {
        const [k, v = ''] = a.split('=');
        const key = k.trim().toLowerCase();
        if (key === 'path' && v.trim().startsWith('/')) path = v.trim();
        if (key === 'max-age') expires = Date.now() + Number(v.trim()) * 1000;
        if (key === 'expires' && expires === Infinity) expires = Date.parse(v.trim());
      }
      if (expires <= Date.now()) jar.delete(name);
      else jar.set(name, { value, path, expires });
    }
    this.#cookies.set(host, jar);
  }

  header(url) {
    const u = new URL(url);
    const jar = this.#cookies.get(u.host);
    if (!jar) return undefined;
    const out = [];
    for (const [name, c] of jar) {
      if (c.expires <= Date.now()) continue;
      if (u.pathname === c.path || u.pathname.startsWith(c.path.endsWith('/') ? c.path : c.path + '/')) out.push(`${name}=${c.value}`);
    }
    return out.length ? out.join('; ') : undefined;
  }
}

function attr(node, name) {
  return node.attrs?.find((a) => a.name === name)?.value;
}

function* walk(node) {
  yield node;
  for (const c of node.childNodes ?? []) yield* walk(c);
  if (node.content) yield* walk(node.content); // <template>
}

// visibleText is the whitespace-collapsed text of <main> (or the document).
export function visibleText(doc) {
  let root = doc;
  for (const n of walk(doc)) if (n.nodeName === 'main') { root = n; break; }
  const parts = [];
  for (const n of walk(root)) {
    if (n.nodeName === '#text' && !['script', 'style', 'title'].includes(n.parentNode?.nodeName)) parts.push(n.value);
  }
  return parts.join(' ').split(/\s+/).filter(Boolean).join(' ');
}

// pickForm returns the page's one sign-in form (it has a password field) or
// consent form (it has decision buttons), with its fields.
export function pickForm(html) {
  const doc = parse(html);
  const text = visibleText(doc);
  const found = [];
  for (const f of walk(doc)) {
    if (f.nodeName !== 'form') continue;
    const form = { kind: '', action: attr(f, 'action') ?? '', method: (attr(f, 'method') ?? 'get').toUpperCase(), fields: new URLSearchParams() };
    for (const n of walk(f)) {
      if (n.nodeName === 'input' && attr(n, 'type') === 'password') form.kind = 'login';
      else if (n.nodeName === 'input' && attr(n, 'name')) form.fields.set(attr(n, 'name'), attr(n, 'value') ?? '');
      else if (n.nodeName === 'button' && attr(n, 'name') === 'decision') form.kind = 'consent';
    }
    if (form.kind) found.push(form);
  }
  if (found.length !== 1) throw new Error(`want one sign-in or consent form, found ${found.length}; page text: ${text}`);
  return { form: found[0], text };
}

function underRedirect(u, redirectUri) {
  const r = new URL(redirectUri);
  return u.protocol === r.protocol && u.host === r.host && u.pathname === r.pathname;
}

// signIn starts at authorizationUrl and returns the URL Gatehouse finally
// redirects to under redirectUri, with the pages and steps it went through.
export async function signIn(authorizationUrl, redirectUri, { username, password, decision = 'allow' }) {
  const jar = new CookieJar();
  const pages = [];
  const steps = [];
  let target = new URL(authorizationUrl);
  let method = 'GET';
  let body;
  for (let i = 0; i < 12; i++) {
    const headers = {};
    const cookie = jar.header(target);
    if (cookie) headers.cookie = cookie;
    if (method === 'POST') {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers.origin = target.origin; // a browser submitting a same-origin form says so
      headers['sec-fetch-site'] = 'same-origin';
    }
    const res = await fetch(target, { method, headers, body, redirect: 'manual' });
    jar.store(target, res.headers.getSetCookie());
    steps.push(`${method} ${target.pathname} -> ${res.status}`);
    const loc = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && loc) {
      await res.body?.cancel();
      const next = new URL(loc, target);
      if (underRedirect(next, redirectUri)) return { callback: next, pages, steps };
      target = next; method = 'GET'; body = undefined;
      continue;
    }
    const html = await res.text();
    if (res.status !== 200 || !(res.headers.get('content-type') ?? '').startsWith('text/html')) {
      throw new Error(`${method} ${target}: unexpected ${res.status}: ${html.slice(0, 600)}`);
    }
    const { form, text } = pickForm(html);
    pages.push({ kind: form.kind, url: String(target), text });
    if (form.kind === 'login') {
      form.fields.set('username', username);
      form.fields.set('password', password);
    } else {
      form.fields.set('decision', decision);
    }
    target = new URL(form.action, target);
    method = form.method;
    body = form.fields.toString();
  }
  throw new Error(`no redirect to ${redirectUri} after 12 steps: ${steps.join(', ')}`);
}
