import { execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/local-emulators.ts';

const EMULATORS = fileURLToPath(new URL('../../lib/local/emulators/processes.ts', import.meta.url));

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('startEmulators', () => {
  it.each(['SIGKILL', 'SIGTERM'] as const)(
    'leaves no emulator process behind when its parent gets %s',
    async (signal) => {
      // Prepare: a parent that starts the emulators, says so, and waits.
      const script = `const { startEmulators } = await import(${JSON.stringify(EMULATORS)});
      await startEmulators(); console.log('ready'); setInterval(() => {}, 1000);`;
      const parent = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      await new Promise<void>((resolve) =>
        parent.stdout.on('data', (c: Buffer) => c.includes('ready') && resolve()),
      );
      const children = execFileSync('ps', ['-o', 'pid=', '--ppid', String(parent.pid)], { encoding: 'utf8' })
        .trim()
        .split('\n')
        .map(Number)
        .filter((pid) => pid > 0);
      expect(children.length).toBeGreaterThanOrEqual(2);
      // Act
      parent.kill(signal);
      // Assess
      await waitFor(() => children.every((pid) => !alive(pid)), 'every emulator child to exit', 10_000);
    },
  );
});
