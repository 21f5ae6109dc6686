import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { fingerprint } from '../../functions/domain/fingerprint.ts';
import { IndicatorSchema } from '../../functions/domain/indicator.ts';
import { main } from '../../lib/cli/main.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const REPORT = join(ROOT, 'test/fixtures/feeds/text/report-ir-2026-0517.txt');
const SAMPLE = join(ROOT, 'samples/incident-report.txt');
const scratch = mkdtempSync(join(tmpdir(), 'cti-parse-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Run the CLI in this process and capture what it writes. */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  try {
    const code = await main(args);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

const lines = (text: string) => text.split('\n').filter((l) => l.length > 0);
const records = (text: string) => lines(text).map((l) => JSON.parse(l) as Record<string, unknown>);
const pairs = (text: string) => records(text).map((r) => [r['type'], r['value']]);

/** Every indicator in the fictional report, in document order. */
const REPORT_INDICATORS = [
  ['email', 'payments@freight-invoices.com'],
  ['filename', 'Remittance_0514.xlsm'],
  ['url', 'https://cdn.freight-invoices.com/assets/update.bin?v=3'],
  ['filename', 'loader.dll'],
  ['filename', 'stage2.exe'],
  ['ipv4', '185.244.25.11'],
  ['url', 'http://91.92.240.17:8443/api/v2/poll'],
  ['cve', 'CVE-2023-36884'],
  ['cve', 'CVE-2024-21338'],
  ['url', 'https://msrc.microsoft.com/update-guide/vulnerability/CVE-2024-21338'],
  ['url', 'http://staging.quietledger.net/drop/a.php'],
  ['ipv6', '2001:67c:2e8:22::c100:68b'],
  ['ipv4', '198.51.100.23'],
  ['ipv4', '203.0.113.77'],
  ['email', 'billing@freight-invoices.com'],
  ['url', 'https://exfil.quietledger.net/upload'],
  ['url', 'http://paste.quietledger.org/raw/9f2c'],
  ['url', 'https://login.micr0soft-support.com/owa/?tenant=ops'],
  ['domain', 'updates.quietledger.org'],
  ['email', 'abuse@hostingco.de'],
  ['url', 'https://tracker.quietledger.net/tickets/42'],
  ['md5', '5d41402abc4b2a76b9719d911017c592'],
  ['md5', '7d793037a0760186574b0282f2f435e7'],
  ['sha1', 'a9993e364706816aba3e25717850c26c9cd0d89d'],
  ['sha256', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
];

describe('cti-ingest parse on a defanged incident report', () => {
  it('prints exactly the indicators of the report, one JSON object per line', async () => {
    // Act
    const { code, stdout } = await cli('parse', REPORT, '--format', 'text');

    // Assess
    expect(code).toBe(0);
    expect(pairs(stdout)).toEqual(REPORT_INDICATORS);
  });

  it('gives each line a type, a canonical value and the fingerprint sha256("type:value")', async () => {
    // Act
    const { stdout } = await cli('parse', REPORT, '--format', 'text');

    // Assess
    for (const record of records(stdout)) {
      const indicator = IndicatorSchema.parse(record);
      expect(indicator.fingerprint).toBe(fingerprint(indicator.type, indicator.value));
      expect(indicator.source).toMatchObject({ feedId: 'cli', format: 'text' });
    }
  });

  it('points each indicator back at its text in the report', async () => {
    // Prepare
    const text = readFileSync(REPORT, 'utf8');

    // Act
    const { stdout } = await cli('parse', REPORT, '--format', 'text');

    // Assess
    for (const record of records(stdout)) {
      const context = record['context'] as { offset: number; raw?: string };
      const raw = context.raw ?? String(record['value']);
      expect(text.slice(context.offset, context.offset + raw.length)).toBe(raw);
    }
  });

  it('writes one JSON summary line to stderr', async () => {
    // Act
    const { stderr } = await cli('parse', REPORT, '--format', 'text');

    // Assess
    expect(lines(stderr)).toHaveLength(1);
    expect(JSON.parse(stderr)).toEqual({
      records: 27,
      indicators: 25,
      quarantined: 2,
      skipped: 0,
      format: 'text',
    });
  });

  it('writes the rejected candidates with their reasons to --quarantine FILE', async () => {
    // Prepare
    const quarantine = join(scratch, 'report-quarantine.ndjson');

    // Act
    const { code } = await cli('parse', REPORT, '--format', 'text', '--quarantine', quarantine);

    // Assess
    expect(code).toBe(0);
    expect(records(readFileSync(quarantine, 'utf8'))).toEqual([
      {
        reason: 'URL host: expected a domain name with at least two labels, found "wiki"',
        type: 'url',
        value: 'http://wiki/incident-handling',
        rawRef: expect.stringMatching(/^offset:\d+$/),
      },
      {
        reason: 'URL host: expected a domain name with at least two labels, found "not-an-ioc"',
        type: 'url',
        value: 'http://not-an-ioc',
        rawRef: expect.stringMatching(/^offset:\d+$/),
      },
    ]);
  });

  it('picks the text format by itself with --format auto', async () => {
    // Act
    const { stdout, stderr } = await cli('parse', REPORT);

    // Assess
    expect(pairs(stdout)).toEqual(REPORT_INDICATORS);
    expect(JSON.parse(stderr)).toMatchObject({ format: 'text' });
  });

  it('names the feed with --feed', async () => {
    // Act
    const { stdout } = await cli('parse', REPORT, '--feed', 'ir-reports');

    // Assess
    expect(records(stdout)[0]).toMatchObject({ source: { feedId: 'ir-reports' } });
  });
});

describe('cti-ingest parse on the bundled sample report', () => {
  it('prints exactly the indicators of samples/incident-report.txt', async () => {
    // Act
    const { code, stdout, stderr } = await cli('parse', SAMPLE, '--format', 'text');

    // Assess
    expect(code).toBe(0);
    expect(pairs(stdout)).toEqual([
      ['email', 'invoices@accounts-billing.com'],
      ['filename', 'Invoice_0412.docm'],
      ['filename', 'loader.dll'],
      ['filename', 'stage2.exe'],
      ['filename', 'C:\\Users\\Public\\Libraries\\'],
      ['cve', 'CVE-2023-23397'],
      ['cve', 'CVE-2021-40444'],
      ['url', 'https://cdn-update.example-delivery.net/files/inv0412.zip'],
      ['url', 'http://185.220.101.45:8080/gate.php?id=7'],
      ['ipv4', '45.142.212.100'],
      ['ipv6', '2a01:4f8:c17:b8f::2'],
      ['domain', 'files.nordstream-backup.org'],
      ['cidr', '203.0.113.0/24'],
      ['url', 'https://login-micros0ft.com/owa/auth.aspx'],
      ['sha256', '3b8f4e1a2c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7'],
      ['md5', '9e107d9d372bb6826bd81d3542a419d6'],
      ['sha1', '2fd4e1c67a2d28fced849ee1bb76e7391b93eb12'],
      ['registry-key', 'HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\UpdateSvc'],
      ['asn', 'AS9009'],
    ]);
    expect(JSON.parse(stderr)).toEqual({
      records: 20,
      indicators: 19,
      quarantined: 1,
      skipped: 0,
      format: 'text',
    });
  });
});

describe('cti-ingest parse when it cannot read its input', () => {
  it.each([
    [
      'a missing file',
      ['parse', join(scratch, 'no-such-file.txt')],
      /^cti-ingest parse: cannot read .*no-such-file\.txt: ENOENT\n$/,
    ],
    [
      'an unknown format',
      ['parse', REPORT, '--format', 'pdf'],
      /^cti-ingest parse: unknown format 'pdf'; expected auto or stix, .*\n$/,
    ],
    ['an unknown option', ['parse', REPORT, '--bogus'], /^cti-ingest parse: Unknown option '--bogus'.*\n$/],
    [
      'an option without its value',
      ['parse', REPORT, '--format'],
      /^cti-ingest parse: Option '--format <value>' argument missing\n$/,
    ],
    ['no file', ['parse'], /^cti-ingest parse: expected exactly one FILE\n$/],
    ['two files', ['parse', REPORT, SAMPLE], /^cti-ingest parse: expected exactly one FILE\n$/],
    ['a directory', ['parse', scratch], /^cti-ingest parse: cannot read .*: EISDIR\n$/],
  ])('exits 2 with a one-line message for %s', async (_why, args, message) => {
    // Act
    const { code, stdout, stderr } = await cli(...args);

    // Assess
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(message);
    expect(lines(stderr)).toHaveLength(1);
  });

  it('exits 0 for an empty file and reports zero records', async () => {
    // Prepare
    const empty = join(scratch, 'empty.txt');
    writeFileSync(empty, '');

    // Act
    const { code, stdout, stderr } = await cli('parse', empty);

    // Assess
    expect(code).toBe(0);
    expect(stdout).toBe('');
    expect(JSON.parse(stderr)).toEqual({
      records: 0,
      indicators: 0,
      quarantined: 0,
      skipped: 0,
      format: 'text',
    });
  });
});

describe('cti-ingest --help', () => {
  it('prints the usage of parse with parse --help and exits 0', async () => {
    // Act
    const { code, stdout } = await cli('parse', '--help');

    // Assess
    expect(code).toBe(0);
    expect(stdout).toMatch(
      /^Usage: cti-ingest parse FILE \[--format auto\|stix\|.*text\].*--quarantine FILE/,
    );
  });

  it('lists the commands with --help and exits 0', async () => {
    // Act
    const { code, stdout } = await cli('--help');

    // Assess
    expect(code).toBe(0);
    expect(stdout).toContain('Commands:');
    expect(stdout).toContain('  parse ');
  });

  it('prints the help and exits 2 without a command', async () => {
    expect((await cli()).code).toBe(2);
  });

  it('exits 2 for an unknown command', async () => {
    // Act
    const { code, stderr } = await cli('frobnicate');

    // Assess
    expect(code).toBe(2);
    expect(stderr).toMatch(/^cti-ingest: unknown command 'frobnicate'\. Commands: .*parse/);
  });
});

// Two child processes at once: each spends most of its time starting tsx.
describe.concurrent('cti-ingest parse as a process', () => {
  const run = promisify(execFile);
  const tsx = join(ROOT, 'node_modules/.bin/tsx');
  const bin = join(ROOT, 'bin/cti-ingest.ts');

  it('keeps NDJSON on stdout and the summary on stderr, and exits 0', async ({ expect }) => {
    // Act
    const { stdout, stderr } = await run(tsx, [bin, 'parse', REPORT, '--format', 'text'], { cwd: ROOT });

    // Assess
    expect(pairs(stdout)).toEqual(REPORT_INDICATORS);
    expect(JSON.parse(stderr)).toMatchObject({ records: 27, indicators: 25, quarantined: 2 });
  });

  it('exits 2 with one line on stderr when the file is missing', async ({ expect }) => {
    // Act
    const failure = await run(tsx, [bin, 'parse', join(scratch, 'missing.txt')], { cwd: ROOT }).then(
      () => undefined,
      (error: { code: number; stdout: string; stderr: string }) => error,
    );

    // Assess
    expect(failure).toMatchObject({ code: 2, stdout: '' });
    expect(lines(failure?.stderr ?? '')).toEqual([
      expect.stringMatching(/^cti-ingest parse: cannot read .*ENOENT$/),
    ]);
  });
});

describe('cti-ingest parse on a document above the streaming threshold', () => {
  it('streams a 9 MB STIX bundle and reports the same counts as the buffered parse', async () => {
    // Prepare: a generated bundle just above 8 MiB, and the same counts from the in-memory parser.
    const { generateStixBundle } = await import('../../lib/bench/generate/stix.ts');
    const { parseDocument, emptySummary, count } = await import('../../functions/formats/index.ts');
    const generated = generateStixBundle(8_500);
    expect(generated.bytes.length).toBeGreaterThan(8 * 1024 * 1024);
    const file = join(scratch, 'big-bundle.json');
    writeFileSync(file, generated.bytes);
    const expected = emptySummary();
    for (const e of parseDocument(generated.bytes, 'stix', {
      feedId: 'cli',
      receivedAt: '2026-01-01T00:00:00Z',
    }).events)
      count(expected, e);
    // Act
    const { code, stdout, stderr } = await cli('parse', file);
    // Assess
    expect(code).toBe(0);
    expect(JSON.parse(stderr)).toEqual({ ...expected, format: 'stix' });
    expect(lines(stdout)).toHaveLength(generated.values);
  });
});
