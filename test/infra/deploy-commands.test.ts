/**
 * Every way the docs tell a user to synthesize or deploy: each profile with and without an alarm e-mail
 * and a feeds file, and every `cdk synth` / `cdk deploy` command written in README.md and docs/, each
 * synthesizes with zero unacknowledged cdk-nag findings.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { PROFILE_NAMES, type ProfileName } from '../../lib/infra/config.ts';
import { FEEDS_FILE, REPO_ROOT, synth } from './stack-fixture.ts';

function findings(profile: ProfileName, feeds: string | null, extra: Record<string, unknown>): string[] {
  const { stack } = synth(profile, feeds, extra);
  return [new AwsSolutionsChecks(), new ServerlessChecks()].flatMap((pack) =>
    pack
      .validateScope(stack)
      .violations.map(
        (v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
      ),
  );
}

const COMBINATIONS = PROFILE_NAMES.flatMap((profile) =>
  [true, false].flatMap((withEmail) => [true, false].map((withFeeds) => ({ profile, withEmail, withFeeds }))),
);

describe('every profile × alarm e-mail × feeds file', () => {
  it.each(COMBINATIONS)(
    'synthesizes $profile (alarmEmail: $withEmail, feeds: $withFeeds) with no unacknowledged finding',
    ({ profile, withEmail, withFeeds }) => {
      expect(
        findings(profile, withFeeds ? FEEDS_FILE : null, withEmail ? { alarmEmail: 'ops@example.org' } : {}),
      ).toEqual([]);
    },
  );
});

/** `npx cdk deploy -c a=b -c c=d …` lines of the README and docs, as context objects. */
function documentedCommands(): { line: string; context: Record<string, string> }[] {
  const docs = [join(REPO_ROOT, 'README.md')];
  const walk = (dir: string): void => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(dir, entry.name));
      else if (entry.name.endsWith('.md')) docs.push(join(dir, entry.name));
    }
  };
  walk(join(REPO_ROOT, 'docs'));
  const commands: { line: string; context: Record<string, string> }[] = [];
  for (const file of docs) {
    for (const match of readFileSync(file, 'utf8').matchAll(
      /(?:npx )?cdk(?:local)? (?:deploy|synth)((?: -c [^\s`|]+)+)/g,
    )) {
      const context: Record<string, string> = {};
      for (const pair of match[1]
        ?.trim()
        .split(/\s*-c\s+/)
        .filter(Boolean) ?? []) {
        const [key = '', ...value] = pair.split('=');
        context[key] = value.join('=');
      }
      // Placeholders stand for the user's own values: the repository's examples take their place.
      if (context['profile'] && !PROFILE_NAMES.includes(context['profile'] as ProfileName)) continue;
      if (context['feeds'] && !existsSync(join(REPO_ROOT, context['feeds']))) context['feeds'] = FEEDS_FILE;
      if (context['alarmEmail'] && !context['alarmEmail'].includes('@'))
        context['alarmEmail'] = 'ops@example.org';
      commands.push({ line: match[0], context });
    }
  }
  return commands;
}

describe('the documented deploy and synth commands', () => {
  const commands = documentedCommands();

  it('finds the commands in the docs', () => {
    expect(commands.some((c) => c.line.includes('deploy'))).toBe(true);
  });

  it.each(commands)('$line synthesizes with no unacknowledged finding', ({ context }) => {
    const { profile = 'standard', feeds, ...rest } = context;
    expect(findings(profile as ProfileName, feeds ? resolve(REPO_ROOT, feeds) : null, rest)).toEqual([]);
  });
});
