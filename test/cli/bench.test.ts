import { describe, expect, it } from 'vitest';
import { benchExitCode } from '../../lib/cli/bench.ts';

const check = (ok: boolean) => ({ ratio: ok ? 0.6 : 0.3, target: '>= 0.4', ok });

describe('benchExitCode', () => {
  it.each([
    ['every check met, report mode', [], [true, true], false, 0],
    ['a check missed, report mode', [], [true, false], false, 0],
    ['every check met, check mode', [], [true, true], true, 0],
    ['a check missed, check mode', [], [false, true], true, 1],
    ['a task failed, report mode', ['extract.stix: crashed'], [true, true], false, 1],
  ])('%s → %i', (_name, errors, oks, checkMode, expected) => {
    // Prepare
    const report = { errors, checks: Object.fromEntries(oks.map((ok, i) => [`c${i}`, check(ok)])) };
    // Act / Assess
    expect(benchExitCode(report, checkMode)).toBe(expected);
  });
});
