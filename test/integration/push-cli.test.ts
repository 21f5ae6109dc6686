import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function push(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bin/cti-ingest.ts', 'push', ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('cti-ingest push', () => {
  const { url, apiKey } = inject('pipeline');

  it('pushes each file with the content type of its format and prints each document id', async () => {
    // Act
    const { code, stdout, stderr } = await push([
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
    const { code, stdout, stderr } = await push([
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
