import { describe, expect, inject, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';

describe('cti-ingest push', () => {
  const { url, apiKey } = inject('pipeline');

  it('pushes each file with the content type of its format and prints each document id', async () => {
    // Act
    const { code, stdout, stderr } = await runCli([
      'push',
      'samples/misp-event.json',
      'samples/incident-report.txt',
      '--endpoint',
      url,
      '--api-key',
      apiKey,
      '--feed',
      'push-cli',
    ]);
    // Assess
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^samples\/misp-event\.json\t\S+$/);
    expect(lines[1]).toMatch(/^samples\/incident-report\.txt\t\S+$/);
  });

  it('exits 2 with the server reason when the API refuses a document', async () => {
    // Act
    const { code, stdout, stderr } = await runCli([
      'push',
      'samples/misp-event.json',
      '--endpoint',
      url,
      '--api-key',
      'wrong-key',
    ]);
    // Assess
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(
      /samples\/misp-event\.json \(misp, feed misp-event\) refused: 403 API key not valid/,
    );
  });
});
