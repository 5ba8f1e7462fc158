// Debian's headless Chromium through playwright-core, as the browser
// drivers use it: a throwaway profile, the report's browser version and the
// top-level URLs the page went through (without query strings, which carry
// codes and states).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

// env reads a required (or defaulted) setting of a driver.
export const env = (k, d) => process.env[k] ?? d ?? (() => { throw new Error(`${k} is required`); })();

// withChromium runs fn(page) in a fresh browser and always cleans up.
export async function withChromium(report, fn) {
  const userDataDir = await mkdtemp(join(tmpdir(), 'gatehouse-e2e-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: env('CHROMIUM', '/usr/bin/chromium'),
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
    viewport: { width: 900, height: 900 },
  });
  report.browser = `${context.browser()?.version() ?? 'chromium'}`;
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('framenavigated', (f) => { if (f === page.mainFrame()) report.steps.push(f.url().split('?')[0]); });
    await fn(page);
  } finally {
    await context.close();
    await rm(userDataDir, { recursive: true, force: true });
  }
}
