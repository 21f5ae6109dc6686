import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { REPOSITORY } from '../helpers/cli.ts';
import { pipelineClient } from './pipeline-client.ts';

/** Debian's Chromium (`apt-get install chromium`; .ci/run installs it). */
const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = join(REPOSITORY, 'test-results', 'console-page.png');

/**
 * The console page the API serves at `/`, in a real headless Chromium against the local runtime: a key
 * entered, the pipelines and quarantine shown, a Feodo Tracker address searched as an analyst pastes it
 * (defanged) and found; a reader key is told quarantine needs an operator key.
 */
describe('the console page', () => {
  const pipeline = inject('pipeline');
  const client = pipelineClient();
  const profile = mkdtempSync(join(tmpdir(), 'cti-ingest-chromium-'));
  let browser: BrowserContext;

  beforeAll(async () => {
    const documentId = await client.push(
      'sample-csv',
      'text/csv',
      readFileSync(new URL('../../samples/feodotracker.csv', import.meta.url)),
    );
    await client.settled([documentId], 60_000);
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });
  afterAll(async () => {
    await browser?.close();
    rmSync(profile, { recursive: true, force: true });
    client.close();
  });

  it('finds a defanged Feodo Tracker address, shows pipelines and quarantine, and names what a reader may not see', async () => {
    // Prepare
    const reader = (await (
      await fetch(`${pipeline.url}/keys`, {
        method: 'POST',
        headers: { 'x-api-key': pipeline.apiKey, 'content-type': 'application/json' },
        body: JSON.stringify({ role: 'reader', feeds: [] }),
      })
    ).json()) as { apiKey: string };
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));

    // Act: the operator key, then a search for the value as pasted.
    const response = await page.goto(`${pipeline.url}/`);
    await page.fill('#key', pipeline.apiKey);
    await page.click('#key-form button');
    await page.waitForSelector('#pipelines table');
    await page.waitForSelector('#quarantine table, #quarantine p');
    await page.waitForSelector('#latest table');
    await page.fill('#query', '192.9.135[.]73');
    await page.click('#search-form button');
    // The answer: a table, a not-found note or an error (the page's own CSP forbids evaluated scripts).
    await page.waitForSelector('#results table, #results p.error, #results p:has-text("Not found")');
    const found = await page.locator('#results td').allTextContents();
    const pipelines = await page.locator('#pipelines td').allTextContents();
    const quarantine = await page.locator('#quarantine').textContent();
    mkdirSync(join(REPOSITORY, 'test-results'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    console.log(`console page screenshot: ${SCREENSHOT}`);
    const operatorProblems = [...problems];
    // The same page with a reader key (Chromium logs its 403 on /quarantine).
    await page.fill('#key', reader.apiKey);
    await page.click('#key-form button');
    await page.waitForSelector('#quarantine p:has-text("Operator key needed")');
    await page.close();

    // Assess
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).toMatch(/default-src 'none'; script-src 'sha256-/);
    expect(found).toContain('192.9.135.73');
    // Other tests load the same sample under their own feeds: the feeds cell lists every one.
    expect(found.some((cell) => cell.split(', ').includes('sample-csv'))).toBe(true);
    expect(pipelines.length).toBeGreaterThan(0);
    expect(quarantine).not.toMatch(/Operator key needed/);
    // With the operator key: no script blocked by the policy, no error thrown, no request refused.
    expect(operatorProblems).toEqual([]);
  });
});
