import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';
import { pipelineClient } from './pipeline-client.ts';

/**
 * `cti-ingest indicators` against the template-driven local runtime: the Feodo Tracker sample and a report
 * of 1,005 addresses loaded, then listed, filtered and looked up as a user would.
 */
describe('cti-ingest indicators', () => {
  const pipeline = inject('pipeline');
  const client = pipelineClient();
  const indicators = (...args: string[]) =>
    runCli(['indicators', ...args, '--endpoint', pipeline.url, '--api-key', pipeline.apiKey]);
  /** 51.7.0.1 … 51.7.4.5: more than one page of GET /indicators (at most 1000). */
  const many = Array.from({ length: 1005 }, (_, i) => `51.7.${Math.floor(i / 250)}.${(i % 250) + 1}`);

  beforeAll(async () => {
    const ids = [
      await client.push(
        'sample-csv',
        'text/csv',
        readFileSync(new URL('../../samples/feodotracker.csv', import.meta.url)),
      ),
      await client.push('indicators-cli', 'text/plain', new TextEncoder().encode(many.join('\n'))),
    ];
    await client.settled(ids, 60_000);
  });
  afterAll(() => client.close());

  it('prints a table of a feed’s indicators with the source’s last seen, up to --limit rows', async () => {
    // Act
    const run = await indicators('--feed', 'sample-csv', '--type', 'ipv4', '--limit', '5');
    // Assess
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    const [header, rule, ...rows] = run.stdout.trimEnd().split('\n');
    expect(header?.split(/\s+/)).toEqual([
      'type',
      'value',
      'tlp',
      'confidence',
      'lastSeen',
      'lastReceived',
      'feeds',
    ]);
    expect(rule).toMatch(/^[─ ]+$/);
    expect(rows).toHaveLength(5);
    for (const row of rows) {
      expect(row).toMatch(/^ipv4\s+\d+\.\d+\.\d+\.\d+\s/);
      // Other tests load the same sample under their own feeds: the last column lists every feed.
      expect(row.split(/\s+/).at(-1)?.split(',')).toContain('sample-csv');
    }
  });

  it('looks values up as an analyst pastes them, and names the ones not found (exit 1)', async () => {
    // Act
    const run = await indicators('--value', '192.9.135[.]73', '--value', '51.7.250[.]250', '--json');
    // Assess
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('not found: 51.7.250[.]250\n');
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    const found = JSON.parse(lines[0] ?? '') as { value: string; lastSeen: string; sources: unknown[] };
    expect(found.value).toBe('192.9.135.73');
    // Feodo Tracker's own last_online, not when we received it.
    expect(found.lastSeen.slice(0, 10)).toBe('2024-04-01');
    expect(found.sources).toEqual(
      expect.arrayContaining([expect.objectContaining({ feedId: 'sample-csv' })]),
    );
  });

  it('follows the cursor past one page of the API until --limit', async () => {
    // Act
    const run = await indicators('--feed', 'indicators-cli', '--type', 'ipv4', '--limit', '1005', '--json');
    // Assess
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    const values = run.stdout
      .trimEnd()
      .split('\n')
      .map((line) => (JSON.parse(line) as { value: string }).value);
    expect(new Set(values)).toEqual(new Set(many));
    expect(values).toHaveLength(1005);
  });

  it('exits 2 with the API’s reason for a filter it refuses', async () => {
    // Act
    const run = await indicators('--on', 'seen');
    // Assess
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/GET \/indicators\?on=seen&limit=50: 400 on: needs since/);
  });
});
