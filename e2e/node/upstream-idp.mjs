// A real OpenID Connect provider for the end-to-end suite: node-oidc-provider
// (the same package e2e/load/peer measures) with its bundled development
// sign-in pages, playing the company IdP that Gatehouse signs users in
// through (login.providers). Any login name signs in as that user, with
// email <login>@example.com (verified), a name and a username.
//
//   IDP_PORT=... CLIENT_ID=gatehouse CLIENT_SECRET=... CALLBACK=http://127.0.0.1:PORT/login/corp/callback node upstream-idp.mjs
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const env = (k, d) => process.env[k] ?? d ?? (() => { throw new Error(`${k} is required`); })();
const port = Number(env('IDP_PORT'));
const issuer = `http://127.0.0.1:${port}`;

const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'e2e-idp', alg: 'ES256', use: 'sig' };

const provider = new Provider(issuer, {
  jwks: { keys: [signingKey] },
  cookies: { keys: ['e2e-upstream-idp-cookie-key-0123456789'] },
  clients: [{
    client_id: env('CLIENT_ID'),
    client_secret: env('CLIENT_SECRET'),
    redirect_uris: [env('CALLBACK')],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'ES256',
  }],
  pkce: { required: () => true },
  scopes: ['openid', 'email', 'profile'],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'preferred_username'] },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: `${id}@example.com`, email_verified: true, name: `${id} (upstream)`, preferred_username: id };
      },
    };
  },
  features: { devInteractions: { enabled: true } },
  ttl: { Interaction: 600, Session: 600, Grant: 600, IdToken: 300, AccessToken: 300, AuthorizationCode: 60 },
});
provider.proxy = false;
provider.listen(port, '127.0.0.1', () => console.log(`upstream idp on ${issuer}`));
