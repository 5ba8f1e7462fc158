// node-oidc-provider configured as close as it goes to e2e/load/gatehouse.yaml,
// so that e2e/load can measure both servers side by side (see ../README.md).
//
//   NODE_ENV=production NODE_EXTRA_CA_CERTS=../.run/ca.pem \
//     taskset -c 0 node server.mjs
//
// Environment: PEER_PORT (default 3000), PEER_CIMD_ORIGINS (comma-separated
// origins whose CIMD documents may be fetched from loopback, default
// https://127.0.0.1:8443, the load generator's dochost).
import { generateKeyPairSync } from 'node:crypto';

import Provider, { errors } from 'oidc-provider';

const port = Number(process.env.PEER_PORT ?? 3000);
const issuer = `http://127.0.0.1:${port}`;
const resource = 'https://mcp.example.com/mcp';
const cimdOrigins = new Set((process.env.PEER_CIMD_ORIGINS ?? 'https://127.0.0.1:8443').split(',').filter(Boolean));

// One ES256 signing key, made at start-up and held in memory (as Gatehouse does).
const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'load-es256', alg: 'ES256', use: 'sig' };

const provider = new Provider(issuer, {
  // The default in-memory adapter (an LRU of 1,000 entries) is left in place.
  jwks: { keys: [signingKey] },
  cookies: { keys: ['load-peer-cookie-key-0123456789abcdef'] },
  clients: [
    {
      client_id: 'load-public',
      client_name: 'Load test (public)',
      redirect_uris: ['http://127.0.0.1/callback'],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    },
    {
      client_id: 'load-service',
      client_name: 'Load test (service)',
      client_secret: 'load-test-secret-0123456789',
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
    },
  ],
  // Without an RSA key, clients must not default to RS256 ID tokens.
  clientDefaults: {
    id_token_signed_response_alg: 'ES256',
    grant_types: ['authorization_code'],
    response_types: ['code'],
  },
  scopes: ['openid', 'offline_access', 'files:read'],
  responseTypes: ['code'], // OAuth 2.1, as Gatehouse: no implicit or hybrid
  ttl: { Interaction: 600, ClientCredentials: 600 }, // stated, so the provider does not warn on first use
  pkce: { required: () => true },
  features: {
    // Interactions are answered with a redirect to /interaction/<uid>; the
    // bundled development pages behind it are not needed for the load modes.
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    registration: { enabled: true, initialAccessToken: false },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      useGrantedResource: () => true,
      getResourceServerInfo(ctx, indicator) {
        if (indicator !== resource) throw new errors.InvalidTarget();
        return {
          scope: 'files:read',
          audience: resource,
          accessTokenTTL: 600, // Gatehouse's tokens.access_token_ttl default (10m)
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'ES256' } },
        };
      },
    },
    clientIdMetadataDocument: { enabled: true, ack: 'draft-02' },
  },
  // The provider guards outgoing fetches against special-use addresses
  // (127.0.0.0/8 included) by passing its own undici dispatcher in
  // options.dispatcher. `fetch` is the configuration hook for outgoing
  // requests; drop that guard only for the loopback document host the load
  // generator serves, the equivalent of Gatehouse's
  // cimd.allow_private_addresses in gatehouse.yaml.
  fetch(url, options) {
    if (cimdOrigins.has(new URL(url).origin)) {
      delete options.dispatcher;
    }
    return globalThis.fetch(url, options);
  },
});

// No per-request logging: nothing is subscribed to the provider's events
// except server errors, which would make a measurement meaningless.
provider.on('server_error', (ctx, err) => console.error('server_error', ctx.path, err));

provider.listen(port, '127.0.0.1', () => {
  console.error(`oidc-provider listening on ${issuer} (discovery: ${issuer}/.well-known/openid-configuration)`);
});
