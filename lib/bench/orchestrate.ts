import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));

export interface WorkerOutput {
  task: string;
  result?: Record<string, unknown>;
  error?: string;
  peakRssMb: number;
}

/**
 * Run one bench task in a fresh Node process pinned to one core (taskset, when the machine has it), so each
 * figure is a one-core rate and each peak RSS belongs to that task alone.
 */
export async function runTask(
  task: string,
  args: Record<string, string | number | boolean>,
): Promise<WorkerOutput> {
  const [out] = await runTasks([{ task, args }]);
  return out as WorkerOutput;
}

/**
 * Several tasks one after another in one pinned process (`--quick` saves a process start and module load
 * per task this way); each output's peak RSS is then the process's peak so far, not the task's own.
 */
export async function runTasks(
  tasks: readonly { task: string; args: Record<string, string | number | boolean> }[],
): Promise<WorkerOutput[]> {
  const pin =
    existsSync('/usr/bin/taskset') && cpus().length > 1 ? ['taskset', '-c', String(cpus().length - 1)] : [];
  const node = [process.execPath, '--expose-gc', '--import', 'tsx', WORKER, '--tasks', JSON.stringify(tasks)];
  const [cmd, ...argv] = [...pin, ...node] as [string, ...string[]];
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'ERROR' },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('close', (code) => {
      const lines = out
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('{"task"'))
        .map((l) => JSON.parse(l) as WorkerOutput);
      resolve(
        tasks.map(
          ({ task }, i) =>
            lines[i] ?? {
              task,
              error: `worker exited ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`,
              peakRssMb: 0,
            },
        ),
      );
    });
  });
}
