import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

describe('a new user running `cti-ingest local --once` (npm start -- --once)', () => {
  it('ingests every bundled sample, prints the summary, the endpoint, the key and curl commands, and exits 0', async () => {
    // Prepare: the documented command, on port 3000 unless something else holds it on this machine.
    const args = ['local', '--once', ...((await portIsFree(3000)) ? [] : ['--port', '0'])];
    // Act
    const { code, stdout, stderr } = await runCli(args);
    // Assess
    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toMatch(
      /Document\s+Format\s+Status\s+Records\s+Loaded\s+Duplicates\s+Quarantined\s+Rejected\s+DLQ/,
    );
    expect(stdout).toMatch(/Total \(\d+ documents\)/);
    expect(stdout).toMatch(/indicators\/s/);
    expect(stdout).toMatch(/API endpoint: http:\/\/127\.0\.0\.1:\d+/);
    // The operator key the stack's secret generated (48 characters, no punctuation), used in the curl lines.
    const key = /API key: +([A-Za-z0-9]{48}) /.exec(stdout)?.[1];
    expect(key).toBeDefined();
    expect(stdout).toContain(`curl -s -H 'x-api-key: ${key}'`);
    expect(stdout).toContain('every sample document is complete');
  });

  it('exits 1 and says what is missing when the samples do not complete in time', async () => {
    // Act
    const { code, stderr } = await runCli(['local', '--once', '--port', '0', '--timeout', '0.2']);
    // Assess
    expect(code).toBe(1);
    expect(stderr).toMatch(/cti-ingest local --once: \d+ of \d+ documents were not complete after 0\.2 s/);
  });

  it('exits 2 with a clear message when its port is taken', async () => {
    // Prepare
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    // Act
    const { code, stderr } = await runCli(['local', '--once', '--port', String(port)]);
    blocker.close();
    // Assess
    expect(code).toBe(2);
    expect(stderr).toContain(`cannot listen on 127.0.0.1:${port}: the port is taken`);
  });
});
