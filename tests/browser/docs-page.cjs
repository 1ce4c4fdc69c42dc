// Drives Debian's Chromium (through playwright-core) over the API reference
// page of a running platform, offline: any request that leaves the page's own
// origin is blocked and reported. Prints one JSON report on stdout; the Rust
// test tests/tests/docs_page.rs starts the platform, runs this and asserts.
//
//   node tests/browser/docs-page.cjs <base url> <chromium path> <screenshot path>

'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { chromium } = require('playwright-core');

async function main() {
  const [base, executablePath, screenshot] = process.argv.slice(2);
  const origin = new URL(base).origin;
  const report = {
    title: null,
    operations: [],
    external: [],
    failed: [],
    consoleErrors: [],
    tryItOut: null,
  };
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nexus-docs-browser-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1280, height: 900 },
  });
  try {
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith('data:') || url.startsWith('blob:') || new URL(url).origin === origin) {
        return route.continue();
      }
      report.external.push(url);
      return route.abort('blockedbyclient');
    });
    const page = context.pages()[0] || (await context.newPage());
    page.on('console', (m) => {
      if (m.type() === 'error') report.consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => report.consoleErrors.push(String(e)));
    page.on('requestfailed', (r) => report.failed.push(`${r.method()} ${r.url()}: ${r.failure()?.errorText}`));
    page.on('response', (r) => {
      if (r.status() >= 400) report.failed.push(`${r.request().method()} ${r.url()}: ${r.status()}`);
    });

    await page.goto(`${base}/docs`, { waitUntil: 'networkidle', timeout: 30000 });
    await page.waitForSelector('.opblock', { timeout: 30000 });
    report.title = (await page.textContent('.information-container .title'))?.trim() ?? null;
    report.operations = await page.$$eval('.opblock', (blocks) =>
      blocks.map((b) => {
        const method = b.querySelector('.opblock-summary-method')?.textContent?.trim() ?? '';
        const p = b.querySelector('.opblock-summary-path')?.getAttribute('data-path') ?? '';
        return `${method} ${p}`;
      }),
    );

    // "Try it out" on GET /health, executed from the page against this origin.
    const op = page.locator('#operations-platform-get_health');
    await op.locator('.opblock-summary').first().click();
    await op.locator('button.try-out__btn').click();
    const [response] = await Promise.all([
      page.waitForResponse((r) => new URL(r.url()).pathname === '/health', { timeout: 30000 }),
      op.locator('button.execute').click(),
    ]);
    const shown = op.locator('.live-responses-table tr.response .response-col_status').first();
    await shown.waitFor({ timeout: 30000 });
    report.tryItOut = {
      url: response.url(),
      status: response.status(),
      body: await response.text(),
      shownStatus: (await shown.textContent())?.trim() ?? null,
    };
    if (screenshot) await op.screenshot({ path: screenshot });
  } finally {
    await context.close();
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
  process.stdout.write(JSON.stringify(report) + '\n');
}

main().catch((e) => {
  process.stderr.write(`${e.stack || e}\n`);
  process.exit(1);
});
