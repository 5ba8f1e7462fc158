// openid-client (a certified OpenID Connect relying party library) against
// Gatehouse as the OpenID Provider: discovery, the authorization code flow
// with PKCE, state and nonce (sign-in and consent through the HTML forms),
// ID token validation by the library, and UserInfo.
//
//   ISSUER=http://127.0.0.1:8080 CLIENT_ID=... MCP_URL=... LOGIN_USER=alice LOGIN_PASSWORD=... [MAX_AGE=0] node oidc-rp.mjs
//
// MAX_AGE, when set, is sent as max_age, and openid-client then checks the
// ID token's auth_time against it. PRIVATE_JWK, when set (a private EC JWK
// with its kid), makes the client authenticate with private_key_jwt:
// openid-client signs each client assertion itself, with the issuer as aud.
import * as client from 'openid-client';
import { signIn } from './lib/formflow.mjs';
import { runDriver } from './lib/driver.mjs';

const env = (k, d) => process.env[k] ?? d ?? (() => { throw new Error(`${k} is required`); })();
const REDIRECT = env('REDIRECT_URL', 'http://127.0.0.1:53682/callback');
const report = {};

async function clientAuth() {
  if (!process.env.PRIVATE_JWK) return client.None();
  const jwk = JSON.parse(process.env.PRIVATE_JWK);
  const key = await crypto.subtle.importKey('jwk', jwk, { name: 'ECDSA', namedCurve: jwk.crv }, false, ['sign']);
  report.client_auth = 'private_key_jwt';
  return client.PrivateKeyJwt({ key, kid: jwk.kid });
}

async function main() {
  const issuer = new URL(env('ISSUER'));
  // Gatehouse listens on plain http on loopback in the suite.
  const config = await client.discovery(issuer, env('CLIENT_ID'), undefined, await clientAuth(), { execute: [client.allowInsecureRequests] });
  const md = config.serverMetadata();
  report.discovery = { userinfo_endpoint: md.userinfo_endpoint, subject_types_supported: md.subject_types_supported,
    id_token_signing_alg_values_supported: md.id_token_signing_alg_values_supported };
  const verifier = client.randomPKCECodeVerifier();
  const nonce = client.randomNonce();
  const state = client.randomState();
  const authURL = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT, scope: `openid email profile ${env('MCP_SCOPE', 'mcp:tools')}`, nonce, state,
    code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    resource: env('MCP_URL'), prompt: 'select_account consent', login_hint: env('LOGIN_USER'),
    ...(process.env.MAX_AGE !== undefined ? { max_age: process.env.MAX_AGE } : {}),
  });
  const { callback, steps } = await signIn(authURL, REDIRECT, { username: env('LOGIN_USER'), password: env('LOGIN_PASSWORD') });
  report.steps = steps;
  const tokens = await client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: verifier, expectedNonce: nonce, expectedState: state, idTokenExpected: true,
    ...(process.env.MAX_AGE !== undefined ? { maxAge: Number(process.env.MAX_AGE) } : {}),
  }, { resource: env('MCP_URL') });
  const claims = tokens.claims();
  report.id_token_claims = claims;
  report.userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
}

await runDriver('oidc-rp driver', main, report);
