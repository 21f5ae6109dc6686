import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  applyOverrides,
  ConfigError,
  configFromContext,
  loadFeeds,
  PROFILE_NAMES,
  PROFILES,
  type Profile,
  ProfileSchema,
  parseFeeds,
  parseFeedsDocument,
  pullFeeds,
  resolveProfile,
} from '../../lib/infra/config.ts';
import { FEEDS_FILE, REPO_ROOT } from './stack-fixture.ts';

const context = (values: Record<string, unknown>) => values;

describe('resolveProfile', () => {
  it('defaults to standard', () => {
    expect(resolveProfile(undefined).name).toBe('standard');
  });

  it.each(PROFILE_NAMES)('parses the %s profile against the schema', (name) => {
    expect(ProfileSchema.parse(PROFILES[name])).toEqual(PROFILES[name]);
  });

  it.each(['bogus', 'Standard', 42])('fails on %s with a message naming the profile key', (value) => {
    expect(() => resolveProfile(value)).toThrow(ConfigError);
    expect(() => resolveProfile(value)).toThrow(
      /^profile: expected one of standard, high-volume, real-time, secure/,
    );
  });

  it.each([0, -1, 1001, 2.5])('rejects loadMessageGroups %s', (loadMessageGroups) => {
    const parsed = ProfileSchema.safeParse({ ...PROFILES.standard, loadMessageGroups });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((i) => i.path.join('.'))).toEqual(['loadMessageGroups']);
  });

  it.each([
    ['standard', 16],
    ['high-volume', 64],
    ['real-time', 32],
    ['secure', 16],
  ] as const)('spreads load over the %s profile message groups (%i)', (name, groups) => {
    expect(resolveProfile(name).loadMessageGroups).toBe(groups);
  });

  it('differs per profile in what it sets', () => {
    const distinct = (pick: (p: (typeof PROFILES)['standard']) => unknown) =>
      new Set(PROFILE_NAMES.map((n) => JSON.stringify(pick(PROFILES[n])))).size;
    expect(distinct((p) => p.kinesis)).toBeGreaterThan(1);
    expect(distinct((p) => p.thresholds)).toBeGreaterThan(1);
    expect(distinct((p) => p.stream.mode)).toBe(2);
  });
});

describe('parseFeeds', () => {
  it('reads the example deploy feeds (YAML)', () => {
    const { feeds } = loadFeeds(FEEDS_FILE);
    expect(feeds.map((f) => f.id)).toContain('mitre-attack-taxii');
    expect(
      pullFeeds(feeds)
        .map((f) => f.transport)
        .sort(),
    ).toEqual(['http', 'misp-feed', 'misp-rest', 'taxii']);
  });

  it('reads JSON, a bare list included', () => {
    const feeds = parseFeeds(JSON.stringify([{ id: 'push-one', format: 'stix' }]));
    expect(feeds[0]).toMatchObject({ id: 'push-one', transport: 'push', allowPrivateNetwork: false });
  });

  it.each([
    ['feeds: [{ id: ok-feed, format: csv, transport: http, schedule: "rate(1 hour)" }]', 'feeds.0.url'],
    ['feeds: [{ id: ok-feed, format: nope }]', 'feeds.0.format'],
    ['feeds: [{ id: a, format: stix }]', 'feeds.0.id'],
    ['feeds: [{ id: one-feed, format: stix }, { id: one-feed, format: stix }]', 'feeds.1.id: duplicate'],
    [
      'feeds: [{ id: ok-feed, format: stix, transport: taxii, url: "https://x.example/", schedule: "every hour" }]',
      'feeds.0.schedule',
    ],
    ['{ notFeeds: [] }', 'expected { feeds: [...], ruleSets?: {...} }'],
    ['feeds: [ {', 'not JSON or YAML'],
  ])('fails on %s naming %s', (text, key) => {
    expect(() => parseFeeds(text, 'f.yaml')).toThrow(key);
  });

  it('names the file it cannot read', () => {
    expect(() => loadFeeds('/nonexistent/feeds.yaml')).toThrow('feeds: cannot read /nonexistent/feeds.yaml');
  });
});

describe('parseFeedsDocument', () => {
  it('reads named rule sets beside the feeds', () => {
    // Act
    const doc = parseFeedsDocument(
      'ruleSets: { checked: { failureAction: quarantine, rules: [{ kind: required, fields: [source] }] } }\nfeeds: [{ id: soc-push, format: stix, ruleSet: checked }]',
    );
    // Assess
    expect(doc.ruleSets['checked']).toMatchObject({ failureAction: 'quarantine' });
    expect(doc.feeds[0]?.ruleSet).toBe('checked');
  });

  it('names a rule set name that is not one', () => {
    expect(() => parseFeedsDocument('ruleSets: { "bad name": {} }\nfeeds: []', 'f.yaml')).toThrow(
      /f\.yaml: .*ruleSets\.bad name/,
    );
  });
});

describe('applyOverrides', () => {
  it.each([
    ['sqs.batchSize', '3', (p: Profile) => p.sqs.batchSize, 3],
    ['kinesis.parallelizationFactor', 7, (p: Profile) => p.kinesis.parallelizationFactor, 7],
    ['thresholds.errorRatePercent', '2.5', (p: Profile) => p.thresholds.errorRatePercent, 2.5],
    ['api.waf', 'true', (p: Profile) => p.api.waf, true],
    ['lifecycle.maxAgeDays.ipv4', '30', (p: Profile) => p.lifecycle.maxAgeDays.ipv4, 30],
    ['lifecycle.decayDays.url', '60', (p: Profile) => p.lifecycle.decayDays.url, 60],
  ])('sets %s from context (%s)', (key, value, read, expected) => {
    // Act
    const profile = applyOverrides(PROFILES.standard, { [key]: value });
    // Assess
    expect(read(profile)).toBe(expected);
    expect(read(PROFILES.standard)).not.toBe(expected);
  });

  it.each([
    ['sqs.batchSize', 'many', /sqs\.batchSize: expected a number/],
    ['sqs.batchSize', '0', /profiles\.standard\.sqs\.batchSize/],
    ['api.waf', 'yes', /api\.waf: expected true or false/],
    ['sqs.nothing.deeper', '1', /sqs\.nothing\.deeper: unknown profile setting/],
    ['lifecycle.maxAgeDays.ip', '30', /profiles\.standard\.lifecycle\.maxAgeDays/],
  ])('refuses %s=%s naming the key', (key, value, message) => {
    expect(() => applyOverrides(PROFILES.standard, { [key]: value })).toThrow(message);
  });

  it('leaves other context keys alone (feature flags, profile, feeds)', () => {
    const profile = applyOverrides(PROFILES.secure, {
      '@aws-cdk/core:newStyleStackSynthesis': true,
      profile: 'secure',
      feeds: 'x.yaml',
    });
    expect(profile).toEqual(PROFILES.secure);
  });
});

describe('configFromContext', () => {
  it('reads profile, feeds and alarmEmail from the CDK context', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cti-config-'));
    const file = join(dir, 'feeds.json');
    writeFileSync(file, JSON.stringify({ feeds: [{ id: 'soc-push', format: 'stix' }] }));
    const config = configFromContext(
      context({ profile: 'secure', feeds: file, alarmEmail: 'soc@example.org' }),
    );
    expect(config.profile.name).toBe('secure');
    expect(config.feeds).toHaveLength(1);
    expect(config.alarmEmail).toBe('soc@example.org');
  });

  it('fails on a bad alarmEmail naming the key', () => {
    expect(() => configFromContext(context({ alarmEmail: 'not-an-address' }))).toThrow(/^alarmEmail:/);
  });
});

describe('bin/app.ts', () => {
  it('stops synth with a message naming the bad key', () => {
    // Act: what `npx cdk synth -c profile=fast` runs
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'bin/app.ts'], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        CDK_CONTEXT_JSON: JSON.stringify({ profile: 'fast' }),
        CDK_OUTDIR: mkdtempSync(join(tmpdir(), 'cti-app-')),
      },
      encoding: 'utf8',
      timeout: 60_000,
    });
    // Assess
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('cti-ingest: invalid configuration: profile: expected one of standard');
  }, 60_000);
});
