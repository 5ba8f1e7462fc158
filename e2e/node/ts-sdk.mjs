// Drives a real MCP TypeScript SDK client (SDK=v1: @modelcontextprotocol/sdk,
// SDK=v2: @modelcontextprotocol/client) through Gatehouse: discovery,
// registration (DCR) or a URL client ID (CIMD, when CLIENT_METADATA_URL is
// set and Gatehouse advertises support), sign-in and consent through the
// HTML forms, the code exchange, tool calls, and a refresh forced by a
// rejected access token. It prints one JSON report on stdout for the Go
// test to assert on; every request the SDK made is in report.requests.
//
//   SDK=v2 MCP_URL=http://127.0.0.1:9000/mcp ISSUER=http://127.0.0.1:8080 \
//   LOGIN_USER=alice LOGIN_PASSWORD=... [CLIENT_METADATA_URL=https://...] node ts-sdk.mjs
//
// RESOURCE_AS_URL=1 gives the provider a validateResourceURL hook that
// returns the metadata's resource as a parsed URL, as clients that check
// the resource themselves (and every SDK before #1968) do: the SDK then
// sends the URL's href, "https://host/" for a path-less "https://host".
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { signIn } from './lib/formflow.mjs';
import { digest, recordingFetch } from './lib/recorder.mjs';
import { runDriver } from './lib/driver.mjs';

const env = (k, d) => process.env[k] ?? d ?? (() => { throw new Error(`${k} is required`); })();
const SDK = env('SDK');
const MCP_URL = env('MCP_URL');
const ISSUER = env('ISSUER');
const REDIRECT = env('REDIRECT_URL', 'http://127.0.0.1:53682/callback');
const CIMD_URL = process.env.CLIENT_METADATA_URL || undefined;
// STEP_UP_TOOL names a tool that needs one more scope than the endpoint:
// the driver then calls it and follows the SDK through the step-up.
const STEP_UP_TOOL = process.env.STEP_UP_TOOL || undefined;
const login = { username: env('LOGIN_USER'), password: env('LOGIN_PASSWORD') };

let sdk, sdkPackage;
if (SDK === 'v1') {
  sdkPackage = '@modelcontextprotocol/sdk';
  sdk = {
    ...(await import('@modelcontextprotocol/sdk/client/index.js')),
    ...(await import('@modelcontextprotocol/sdk/client/streamableHttp.js')),
    ...(await import('@modelcontextprotocol/sdk/client/auth.js')),
  };
} else if (SDK === 'v2') {
  sdkPackage = '@modelcontextprotocol/client';
  sdk = await import('@modelcontextprotocol/client');
} else {
  throw new Error(`SDK must be v1 or v2, not ${SDK}`);
}
const { Client, StreamableHTTPClientTransport, UnauthorizedError } = sdk;

function installedVersion(pkg) {
  return JSON.parse(readFileSync(new URL(`node_modules/${pkg}/package.json`, import.meta.url))).version;
}

// The SDK's client-side state lives in memory, like a CLI's would.
class HeadlessProvider {
  redirects = 0;
  get redirectUrl() { return REDIRECT; }
  get clientMetadataUrl() { return CIMD_URL; }
  get clientMetadata() {
    return {
      client_name: `Gatehouse e2e TS SDK ${SDK}`,
      redirect_uris: [REDIRECT],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }
  state() { return (this._state = randomUUID()); }
  clientInformation() { return this._client; }
  saveClientInformation(c) { this._client = c; }
  tokens() { return this._tokens; }
  saveTokens(t) { this._tokens = t; }
  saveCodeVerifier(v) { this._verifier = v; }
  codeVerifier() { return this._verifier; }
  saveDiscoveryState(s) { this._discovery = s; }
  discoveryState() { return this._discovery; }
  // The "browser": sign in and consent through Gatehouse's forms.
  async redirectToAuthorization(url) {
    this.redirects++;
    this.authorizationUrl = new URL(url);
    this.leg = await signIn(url, REDIRECT, login);
  }
}

const requests = [];
const report = { sdk: SDK, sdk_package: sdkPackage, sdk_version: installedVersion(sdkPackage), mode: CIMD_URL ? 'cimd' : 'dcr', requests };
const fetchFn = recordingFetch(requests);
const provider = new HeadlessProvider();
if (process.env.RESOURCE_AS_URL === '1') {
  provider.validateResourceURL = async (serverUrl, resource) => new URL(resource ?? serverUrl);
}
const newClient = () => new Client({ name: `gatehouse-e2e-ts-${SDK}`, version: '1.0.0' });
const newTransport = () => new StreamableHTTPClientTransport(new URL(MCP_URL), { authProvider: provider, fetch: fetchFn });

// spoil changes one character inside the JWT's signature (not the last one,
// whose low bits are padding), so Gatehouse's signature no longer verifies.
function spoil(jwt) {
  const i = jwt.length - 10;
  return jwt.slice(0, i) + (jwt[i] === 'A' ? 'B' : 'A') + jwt.slice(i + 1);
}

async function main() {
  // 1. The first connection meets a 401; the SDK discovers Gatehouse,
  //    registers or uses its URL client ID, and sends the user to /authorize.
  let transport = newTransport();
  let client = newClient();
  try {
    await client.connect(transport);
    throw new Error('connected without authorization');
  } catch (e) {
    if (!(e instanceof UnauthorizedError)) throw e;
  }
  if (!provider.leg) throw new Error('the SDK never asked for authorization');
  const cb = provider.leg.callback;
  const authzParams = Object.fromEntries(provider.authorizationUrl.searchParams);
  delete authzParams.code_challenge;
  report.authorization_request = authzParams;
  report.pages = provider.leg.pages;
  report.steps = provider.leg.steps;
  report.callback = {
    has_code: cb.searchParams.has('code'),
    state_matches: cb.searchParams.get('state') === provider._state,
    iss: cb.searchParams.get('iss'),
    error: cb.searchParams.get('error') ?? undefined,
  };
  // 2. The callback: v1 leaves checking state (and iss) to the application;
  //    v2 takes the whole callback and checks iss against discovery itself.
  if (!report.callback.state_matches) throw new Error('state mismatch in the callback');
  if (SDK === 'v1') {
    if (cb.searchParams.get('iss') !== ISSUER) throw new Error(`callback iss ${cb.searchParams.get('iss')} is not ${ISSUER}`);
    await transport.finishAuth(cb.searchParams.get('code'));
  } else {
    await transport.finishAuth(cb.searchParams);
  }
  report.client_id = provider._client?.client_id;
  const first = provider._tokens;
  report.first_tokens = { access: digest(first.access_token), refresh: digest(first.refresh_token), token_type: first.token_type, scope: first.scope, expires_in: first.expires_in };

  // 3. Connected with the token: list and call the tools.
  transport = newTransport();
  client = newClient();
  await client.connect(transport);
  report.tools = (await client.listTools()).tools.map((t) => t.name).sort();
  report.add = (await client.callTool({ name: 'add', arguments: { a: 2, b: 3 } })).structuredContent;
  report.whoami = (await client.callTool({ name: 'whoami', arguments: {} })).structuredContent;

  // 4. Refresh: the stored access token stops being accepted, as an expired
  //    one is. The next call gets a 401; the SDK refreshes with the refresh
  //    token (no new authorization) and retries.
  provider._tokens = { ...first, access_token: spoil(first.access_token) };
  const mark = requests.length;
  report.add_after_refresh = (await client.callTool({ name: 'add', arguments: { a: 40, b: 2 } })).structuredContent;
  const second = provider._tokens;
  report.refresh = {
    access_before: digest(first.access_token), access_after: digest(second.access_token),
    refresh_before: digest(first.refresh_token), refresh_after: digest(second.refresh_token),
    redirects: provider.redirects,
    requests_from: mark,
  };
  await client.close();

  // 5. The rotated-out refresh token is dead.
  const meta = provider._discovery?.authorizationServerMetadata;
  const replay = await fetch(meta.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: first.refresh_token, client_id: report.client_id }),
  });
  report.old_refresh_replay = { status: replay.status, error: (await replay.json()).error };

  // 6. Step-up (MCP 2025-11-25 "Scope Challenge Handling"): the tool needs
  //    a scope the token lacks. The server answers 403 insufficient_scope;
  //    the SDK re-authorizes under the same client_id with the union of
  //    the scopes it holds (the token response's scope) and the challenge's;
  //    the user approves only what is new; the retried call succeeds.
  if (STEP_UP_TOOL) {
    const held = provider._tokens;
    const redirectsBefore = provider.redirects;
    provider.leg = undefined;
    const mark = requests.length;
    transport = newTransport();
    client = newClient();
    await client.connect(transport);
    let refused;
    try {
      await client.callTool({ name: STEP_UP_TOOL, arguments: { text: 'stepped up' } });
    } catch (e) {
      refused = e;
    }
    if (!provider.leg) throw new Error(`the SDK did not re-authorize for ${STEP_UP_TOOL}: ${refused ?? 'the call succeeded'}`);
    const leg = provider.leg;
    await transport.finishAuth(leg.callback.searchParams);
    await client.close(); // its event stream would keep the process alive
    const after = provider._tokens;
    transport = newTransport();
    client = newClient();
    await client.connect(transport);
    const note = await client.callTool({ name: STEP_UP_TOOL, arguments: { text: 'stepped up' } });
    const who = (await client.callTool({ name: 'whoami', arguments: {} })).structuredContent;
    const sum = (await client.callTool({ name: 'add', arguments: { a: 1, b: 2 } })).structuredContent;
    await client.close();
    report.step_up = {
      refused: String(refused ?? ''),
      requests_from: mark,
      redirects: provider.redirects - redirectsBefore,
      scope_held: held.scope,
      authorization_request: Object.fromEntries(provider.authorizationUrl.searchParams),
      pages: leg.pages,
      callback_has_code: leg.callback.searchParams.has('code'),
      token_scope: after.scope,
      access_changed: digest(after.access_token) !== digest(held.access_token),
      result: note.structuredContent,
      is_error: note.isError ?? false,
      whoami_scopes: who.scopes,
      add: sum,
    };
    delete report.step_up.authorization_request.code_challenge;
  }
}

await runDriver('ts-sdk driver', main, report);
