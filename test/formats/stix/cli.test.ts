import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const FIXTURES = join(ROOT, 'test/fixtures/feeds/stix');
const run = promisify(execFile);
const tsx = join(ROOT, 'node_modules/.bin/tsx');
const bin = join(ROOT, 'bin/cti-ingest.ts');
const scratch = mkdtempSync(join(tmpdir(), 'stix-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

// Child processes at once: each spends most of its time starting tsx.
describe.concurrent('cti-ingest parse on STIX files', () => {
  it.for(['auto', 'stix'])('parses apt1.json with --format %s', async (format, { expect }) => {
    // Act
    const { stdout, stderr } = await run(
      tsx,
      [bin, 'parse', join(FIXTURES, 'stix21/oasis-docs--apt1.json'), '--format', format],
      {
        cwd: ROOT,
      },
    );

    // Assess
    const indicators = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; value: string });
    expect(indicators).toHaveLength(10);
    expect(indicators[4]).toMatchObject({ type: 'domain', value: 'hugesoft.org', names: ['Ugly Gorilla'] });
    expect(JSON.parse(stderr)).toEqual({
      records: 76,
      indicators: 10,
      quarantined: 0,
      skipped: 66,
      format: 'stix',
    });
  });

  it('writes the quarantined object with its reason to --quarantine and exits 0', async ({ expect }) => {
    // Prepare
    const quarantine = join(scratch, 'q.ndjson');

    // Act
    const { stderr } = await run(
      tsx,
      [
        bin,
        'parse',
        join(FIXTURES, 'stix-invalid/validator--invalid_timestamp.json'),
        '--format',
        'auto',
        '--quarantine',
        quarantine,
      ],
      { cwd: ROOT },
    );

    // Assess
    expect(JSON.parse(stderr)).toMatchObject({ records: 1, quarantined: 1, format: 'stix' });
    expect(JSON.parse(readFileSync(quarantine, 'utf8'))).toMatchObject({
      reason:
        'identity: "modified" (2015-08-08T15:50:10.983Z) is earlier than "created" (2016-08-08T15:50:10.983Z)',
      objectId: 'identity--8c6af861-7b20-41ef-9b59-6344fd872a8f',
    });
  });

  it('exits 2 with the JSON error for a file that is not JSON', async ({ expect }) => {
    // Act
    const failure = await run(
      tsx,
      [bin, 'parse', join(FIXTURES, 'stix-invalid/validator--invalid_comma.json'), '--format', 'stix'],
      {
        cwd: ROOT,
      },
    ).then(
      () => undefined,
      (error: { code: number; stdout: string; stderr: string }) => error,
    );

    // Assess
    expect(failure).toMatchObject({ code: 2, stdout: '' });
    expect(failure?.stderr).toMatch(
      /^cti-ingest parse: not valid JSON at line 9, column 1: .*trailing comma/,
    );
  });
});
