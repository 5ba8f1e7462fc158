// Signs in and consents through Gatehouse's real pages in headless Debian
// Chromium (driven by playwright-core), starting from an authorization URL,
// and reports what the pages showed and where the browser landed.
// Screenshots go to SCREENSHOT_PREFIX-{login,consent,callback}.png.
//
//   AUTH_URL=... REDIRECT_URL=http://127.0.0.1:PORT/callback LOGIN_USER=alice LOGIN_PASSWORD=... \
//   SCREENSHOT_PREFIX=../artifacts/browser node browser.mjs
import { env, withChromium } from './lib/chromium.mjs';
import { runDriver } from './lib/driver.mjs';

const AUTH_URL = env('AUTH_URL');
const REDIRECT = env('REDIRECT_URL');
const SHOTS = env('SCREENSHOT_PREFIX');
const report = { steps: [] };

async function main() {
  await withChromium(report, async (page) => {

    // The authorization request sends an unknown browser to the sign-in page.
    await page.goto(AUTH_URL);
    await page.waitForURL((u) => u.pathname === '/login');
    report.login = { url: page.url(), heading: await page.locator('h1').innerText() };
    await page.screenshot({ path: `${SHOTS}-login.png`, fullPage: true });
    await page.getByLabel('Username').fill(env('LOGIN_USER'));
    await page.getByLabel('Password').fill(env('LOGIN_PASSWORD'));
    await Promise.all([page.waitForURL((u) => u.pathname === '/authorize'), page.getByRole('button', { name: 'Sign in' }).click()]);

    // The consent page: who is asking, for what, and the loopback warning.
    const allow = page.getByRole('button', { name: 'Allow' });
    await allow.waitFor();
    const host = page.locator('.client-host');
    report.consent = {
      url: page.url(),
      heading: await page.locator('h1').innerText(),
      client_host: (await host.count()) ? await host.innerText() : null,
      client_host_font_px: (await host.count()) ? await host.evaluate((e) => parseFloat(getComputedStyle(e).fontSize)) : null,
      body_font_px: await page.locator('main p').first().evaluate((e) => parseFloat(getComputedStyle(e).fontSize)),
      warning: (await page.locator('.warning[role=note]').count()) ? await page.locator('.warning[role=note]').innerText() : null,
      text: await page.locator('main').innerText(),
    };
    await page.screenshot({ path: `${SHOTS}-consent.png`, fullPage: true });
    await Promise.all([page.waitForURL((u) => u.href.startsWith(REDIRECT)), allow.click()]);

    // Back at the application's loopback redirect URI.
    report.final_url = page.url();
    report.final_text = await page.locator('body').innerText();
    await page.screenshot({ path: `${SHOTS}-callback.png` });
  });
}

await runDriver('browser driver', main, report);
