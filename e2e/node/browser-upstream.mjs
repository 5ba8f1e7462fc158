// Headless Chromium signs in through an upstream OpenID Connect provider:
// Gatehouse's /login sends it to the provider (node-oidc-provider's
// development pages: login form, then its own consent), the provider sends
// it back to Gatehouse's callback, and Gatehouse shows its own consent page
// for the MCP client. It reports the pages it saw and where it landed.
//
//   AUTH_URL=... REDIRECT_URL=... IDP_ORIGIN=http://127.0.0.1:PORT UPSTREAM_LOGIN=erin SCREENSHOT_PREFIX=... node browser-upstream.mjs
import { env, withChromium } from './lib/chromium.mjs';
import { runDriver } from './lib/driver.mjs';

const REDIRECT = env('REDIRECT_URL');
const IDP = env('IDP_ORIGIN');
const SHOTS = env('SCREENSHOT_PREFIX');
const report = { steps: [], idp_pages: [] };

async function main() {
  await withChromium(report, async (page) => {
    // One provider and no password form: Gatehouse goes straight to the IdP.
    await page.goto(env('AUTH_URL'));
    await page.waitForURL((u) => u.origin === IDP);
    report.idp_pages.push(page.url().split('?')[0]);
    await page.screenshot({ path: `${SHOTS}-idp-login.png`, fullPage: true });
    await page.locator('input[name=login]').fill(env('UPSTREAM_LOGIN'));
    await page.locator('input[name=password]').fill('any password will do');
    await Promise.all([page.waitForNavigation(), page.locator('button[type=submit]').click()]);
    // The IdP asks its own consent for Gatehouse (first time only).
    if (new URL(page.url()).origin === IDP) {
      report.idp_pages.push(page.url().split('?')[0]);
      await page.screenshot({ path: `${SHOTS}-idp-consent.png`, fullPage: true });
      await Promise.all([page.waitForURL((u) => u.origin !== IDP), page.locator('button[type=submit]').click()]);
    }
    // Back at Gatehouse: its own consent page for the MCP client.
    const allow = page.getByRole('button', { name: 'Allow' });
    await allow.waitFor();
    report.consent = { url: page.url(), heading: await page.locator('h1').innerText(), text: await page.locator('main').innerText() };
    await page.screenshot({ path: `${SHOTS}-consent.png`, fullPage: true });
    await Promise.all([page.waitForURL((u) => u.href.startsWith(REDIRECT)), allow.click()]);
    report.final_url = page.url();
  });
}

await runDriver('browser-upstream', main, report);
