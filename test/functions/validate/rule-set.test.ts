import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildIndicator } from '../../../functions/domain/build.ts';
import type { Indicator, IndicatorType } from '../../../functions/domain/indicator.ts';
import {
  BUILT_IN_RULE_SETS,
  DEFAULT_RULE_SET,
  type RuleSetInput,
  RuleSetSchema,
  resolveRuleSet,
  validateIndicator,
} from '../../../functions/validate/rule-set.ts';
import {
  matchWarningLists,
  networkContains,
  parseNetwork,
} from '../../../functions/validate/warninglists.ts';

const source = { feedId: 'acme', format: 'text' as const, receivedAt: '2026-11-27T10:00:00.000Z' };
function ioc(type: IndicatorType, value: string, extra: Partial<Indicator> = {}): Indicator {
  const built = buildIndicator({ type, value, source });
  if (!built.ok) throw new Error(built.reason);
  return { ...built.value, ...extra };
}

describe('warning lists', () => {
  it.each([
    ['ipv4', '8.8.8.8', 'List of known IPv4 public DNS resolvers'],
    ['ipv4', '10.0.0.1', 'List of RFC 1918 CIDR blocks'],
    ['ipv4', '127.0.0.1', 'List of RFC 5735 CIDR blocks'],
    ['ipv4', '198.51.100.7', 'List of RFC 5735 CIDR blocks'],
    ['cidr', '192.168.4.0/24', 'List of RFC 1918 CIDR blocks'],
    ['ipv6', '2001:db8::1', 'List of RFC 3849 CIDR blocks'],
    ['domain', 'google.com', 'List of known google domains'],
    ['domain', 'mail.google.com', 'List of known google domains'],
    ['url', 'https://www.google.com/search?q=x', 'List of known google domains'],
    ['domain', 'support.apple.com', 'Top 10K most-used sites from Tranco'],
  ] as const)('%s %s is on "%s"', (type, value, list) => {
    expect(matchWarningLists(ioc(type, value))?.list.name).toBe(list);
  });

  it.each([
    ['ipv4', '45.77.12.9'],
    ['domain', 'evil-google.com'],
    ['domain', 'googlee.co'],
    ['url', 'http://evil.example.net/google.com'],
    ['cidr', '10.0.0.0/7'],
  ] as const)('%s %s is on no list', (type, value) => {
    expect(matchWarningLists(ioc(type, value))).toBeUndefined();
  });

  it('contains every address of a network and nothing outside it', () => {
    const net = parseNetwork('172.16.0.0/12');
    if (!net) throw new Error('unparsable');
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (n) => {
        const text = [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
        const inside = n >>> 20 === (172 << 4) + 1;
        expect(networkContains(net, parseNetwork(text) ?? net)).toBe(inside);
      }),
    );
  });
});

describe('validateIndicator with the default rule set', () => {
  it.each([
    ['ipv4', '8.8.8.8'],
    ['ipv4', '10.0.0.1'],
    ['domain', 'google.com'],
  ] as const)('rejects %s %s as a well-known benign value', (type, value) => {
    const verdict = validateIndicator(ioc(type, value), DEFAULT_RULE_SET);
    expect(verdict.outcome).toBe('reject');
    expect(verdict.outcome !== 'pass' && verdict.reason).toMatch(/^warning-list: /);
  });

  it('passes an ordinary indicator', () => {
    expect(validateIndicator(ioc('ipv4', '45.77.12.9'), DEFAULT_RULE_SET).outcome).toBe('pass');
  });

  it.each([
    [{ type: 'ipv4', value: '45.77.12.9' }, /schema: /],
    [{ ...ioc('ipv4', '45.77.12.9'), fingerprint: 'nope' }, /fingerprint/],
    [null, /schema: /],
  ])('quarantines a record that is not a canonical indicator (%#)', (candidate, reason) => {
    const verdict = validateIndicator(candidate, DEFAULT_RULE_SET);
    expect(verdict.outcome).toBe('quarantine');
    expect(verdict.outcome !== 'pass' && verdict.reason).toMatch(reason);
  });
});

describe('rule sets', () => {
  const set = (input: RuleSetInput) => RuleSetSchema.parse(input);
  it.each([
    [
      { name: 'r', rules: [{ kind: 'required', fields: ['confidence'] }] },
      ioc('ipv4', '45.77.12.9'),
      'quarantine',
      /required: missing confidence/,
    ],
    [
      { name: 'r', rules: [{ kind: 'range', field: 'confidence', min: 50 }] },
      ioc('ipv4', '45.77.12.9', { confidence: 20 }),
      'quarantine',
      /below 50/,
    ],
    [
      { name: 'r', rules: [{ kind: 'enum', field: 'tlp', values: ['clear', 'green'] }] },
      ioc('ipv4', '45.77.12.9', { tlp: 'red' }),
      'quarantine',
      /enum: tlp red/,
    ],
    [
      {
        name: 'r',
        failureAction: 'reject',
        rules: [{ kind: 'regex', field: 'value', pattern: '\\.ru$', types: ['domain'] }],
      },
      ioc('domain', 'evil.com'),
      'reject',
      /regex/,
    ],
    [
      { name: 'r', rules: [{ kind: 'allow-list', values: ['45.77.12.9'] }] },
      ioc('ipv4', '45.77.12.10'),
      'quarantine',
      /allow-list/,
    ],
    [
      { name: 'r', rules: [{ kind: 'deny-list', values: ['45.77.12.9'], action: 'reject' }] },
      ioc('ipv4', '45.77.12.9'),
      'reject',
      /deny-list/,
    ],
    [
      { name: 'r', rules: [{ kind: 'warning-list', lists: ['rfc1918'] }] },
      ioc('ipv4', '8.8.8.8'),
      'pass',
      undefined,
    ],
  ] satisfies [RuleSetInput, Indicator, string, RegExp | undefined][])(
    'rule %# → %s',
    (input, indicator, outcome, reason) => {
      const verdict = validateIndicator(indicator, set(input));
      expect(verdict.outcome).toBe(outcome);
      if (reason) expect(verdict.outcome !== 'pass' && verdict.reason).toMatch(reason);
    },
  );

  it('lets a warned record pass with its warnings in context', () => {
    const verdict = validateIndicator(
      ioc('ipv4', '10.1.2.3'),
      set({ name: 'w', failureAction: 'warn', rules: [{ kind: 'warning-list' }] }),
    );
    expect(verdict.outcome).toBe('pass');
    expect(verdict.outcome === 'pass' && verdict.indicator.context.validationWarnings).toEqual([
      expect.stringMatching(/RFC 1918/),
    ]);
  });

  it('picks quarantine over reject over warn when several rules fail', () => {
    const verdict = validateIndicator(
      ioc('ipv4', '10.1.2.3'),
      set({
        name: 'm',
        rules: [
          { kind: 'warning-list', action: 'reject' },
          { kind: 'required', fields: ['tlp'], action: 'quarantine' },
        ],
      }),
    );
    expect(verdict.outcome).toBe('quarantine');
  });

  it.each([
    [{ name: 'x', rules: [{ kind: 'regex', field: 'value', pattern: '(' }] }, /regular expression/],
    [{ name: 'x', rules: [{ kind: 'warning-list', lists: ['nope'] }] }, /unknown warning list/],
    [{ name: 'x', rules: [{ kind: 'bogus' }] }, /kind/],
  ])('refuses an invalid rule set (%#) and falls back to the default', (inline, problem) => {
    const resolved = resolveRuleSet(inline, undefined);
    expect(resolved.ruleSet).toBe(DEFAULT_RULE_SET);
    expect(resolved.problem).toMatch(problem);
  });

  it('resolves built-in rule sets by name', () => {
    expect(resolveRuleSet(undefined, 'strict').ruleSet).toBe(BUILT_IN_RULE_SETS.get('strict'));
    expect(resolveRuleSet(undefined, 'nope').problem).toMatch(/unknown rule set/);
  });
});
