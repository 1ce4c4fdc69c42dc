// Drives Debian's Chromium (through playwright-core) over one execution's
// graph page (`/_local/executions/{id}/graph`), offline: reports each state's
// colour-giving outcome and fill as drawn, and what the side panel shows
// after clicking a state. Prints one JSON report on stdout; the Rust test
// (local/tests/workflows.rs) starts the platform, runs this and asserts.
//
//   node tests/browser/workflow-graph.cjs <page url> <chromium path> <state to click> <screenshot path>

'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { chromium } = require('playwright-core');

async function main() {
  const [url, executablePath, click, screenshot] = process.argv.slice(2);
  const origin = new URL(url).origin;
  const report = { title: null, states: {}, panel: null, external: [], consoleErrors: [] };
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nexus-graph-browser-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
  });
  try {
    await context.route('**/*', (route) => {
      const u = route.request().url();
      if (u.startsWith('data:') || new URL(u).origin === origin) return route.continue();
      report.external.push(u);
      return route.abort('blockedbyclient');
    });
    const page = context.pages()[0] || (await context.newPage());
    page.on('console', (m) => { if (m.type() === 'error') report.consoleErrors.push(m.text()); });
    page.on('pageerror', (e) => report.consoleErrors.push(String(e)));
    await page.goto(url, { waitUntil: 'load', timeout: 30000 });
    report.title = await page.title();
    report.states = await page.$$eval('g.state', (gs) => Object.fromEntries(gs.map((g) => {
      const r = g.querySelector('rect').getBoundingClientRect();
      return [g.dataset.state, {
        outcome: g.dataset.outcome,
        fill: getComputedStyle(g.querySelector('rect')).fill,
        visible: r.width > 0 && r.height > 0,
      }];
    })));
    await page.click(`g.state[data-state="${click}"]`);
    report.panel = {
      selected: await page.textContent('#selected'),
      summary: await page.textContent('#summary'),
      input: await page.textContent('#input'),
      output: await page.textContent('#output'),
    };
    if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
  } finally {
    await context.close();
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
  process.stdout.write(JSON.stringify(report));
}

main().catch((e) => { console.error(e); process.exit(1); });
