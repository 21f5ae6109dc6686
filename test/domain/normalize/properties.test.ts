import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { INDICATOR_TYPES, type IndicatorType } from '../../../functions/domain/indicator.ts';
import {
  normalize,
  normalizeDomain,
  normalizeEmail,
  normalizeIpv4,
  normalizeUrl,
  refang,
} from '../../../functions/domain/normalize/index.ts';

// Strings built from the pieces normalizers look for, so the generators reach their inner branches.
const TOKENS = [
  '.',
  '..',
  ':',
  '::',
  '/',
  '//',
  '://',
  '@',
  '[.]',
  '(.)',
  '{.}',
  '[dot]',
  '[at]',
  '[:]',
  '[://]',
  '[//]',
  'hxxp',
  'hXXps',
  'meow',
  'http',
  'https://',
  'xn--',
  'mailto:',
  'AS',
  'CVE-',
  'HKLM\\',
  '\\',
  '%',
  '#',
  '?',
  '[',
  ']',
  ' ',
  '\t',
  '\u0000',
  'ü',
  'ß',
  '。',
  '-',
  '_',
  '0',
  '1',
  '255',
  '256',
  '65535',
  'ffff',
  'com',
  'co.uk',
  'test',
  'example',
  'a',
  'Z',
  '3:',
  '1.2.3.4',
  '2001:db8',
  '/24',
  '/129',
  '"',
  ',',
];
const tokenSoup = fc.array(fc.constantFrom(...TOKENS), { maxLength: 12 }).map((parts) => parts.join(''));

const ARBITRARY_STRINGS = {
  'fc.string': fc.string({ maxLength: 80 }),
  'full unicode': fc.string({ unit: 'binary', maxLength: 40 }),
  'grapheme strings': fc.string({ unit: 'grapheme', maxLength: 20 }),
  'indicator-shaped token soup': tokenSoup,
  mixed: fc.tuple(tokenSoup, fc.string({ unit: 'binary', maxLength: 10 }), tokenSoup).map((p) => p.join('')),
};

const hex = (length: number) => fc.stringMatching(new RegExp(`^[0-9a-fA-F]{${length}}$`));
const label = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?$/);
const realSuffix = fc.constantFrom('com', 'net', 'org', 'co.uk', 'de', 'ru', 'io', 'xn--p1ai', 'com.br');
const publicDomain = fc
  .tuple(fc.array(label, { minLength: 1, maxLength: 3 }), realSuffix)
  .map(([labels, suffix]) => `${labels.join('.')}.${suffix}`);
const webUrl = fc
  .tuple(
    fc.constantFrom('http', 'https', 'ftp'),
    publicDomain,
    fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
    fc.webPath(),
    fc.webQueryParameters(),
    fc.webFragments(),
  )
  .map(([scheme, host, port, path, query, fragment]) => {
    const authority = port === undefined ? host : `${host}:${port}`;
    return `${scheme}://${authority}${path}${query ? `?${query}` : ''}${fragment ? `#${fragment}` : ''}`;
  });

/** A valid value of each type, written in any spelling its normalizer accepts. */
const VALID: Record<IndicatorType, fc.Arbitrary<string>> = {
  ipv4: fc.ipV4(),
  ipv6: fc.ipV6(),
  cidr: fc.oneof(
    fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 })).map(([ip, p]) => `${ip}/${p}`),
    fc.tuple(fc.ipV6(), fc.integer({ min: 0, max: 128 })).map(([ip, p]) => `${ip}/${p}`),
  ),
  domain: fc.oneof(
    fc.domain(),
    publicDomain,
    publicDomain.map((d) => d.toUpperCase()),
  ),
  url: webUrl,
  email: fc.oneof(
    fc.emailAddress(),
    fc.tuple(label, publicDomain).map(([local, domain]) => `${local}@${domain}`),
  ),
  md5: hex(32),
  sha1: hex(40),
  sha256: hex(64),
  sha512: hex(128),
  ja3: hex(32),
  ssdeep: fc
    .tuple(
      fc.integer({ min: 0, max: 20 }),
      fc.stringMatching(/^[A-Za-z0-9/+]{1,64}$/),
      fc.stringMatching(/^[A-Za-z0-9/+]{1,32}$/),
    )
    .map(([n, a, b]) => `${3 * 2 ** n}:${a}:${b}`),
  filename: fc.stringMatching(/^[\w .~-]{1,40}\.[a-z]{1,4}$/),
  asn: fc.oneof(
    fc.integer({ min: 0, max: 4294967295 }).map((n) => `AS${n}`),
    fc.integer({ min: 0, max: 4294967295 }).map((n) => `as ${n}`),
  ),
  cve: fc
    .tuple(fc.integer({ min: 1999, max: 2099 }), fc.integer({ min: 1000, max: 9999999 }))
    .map(([y, n]) => `cve-${y}-${n}`),
  mutex: fc.stringMatching(/^(?:Global\\|Local\\)?[\w.{}-]{1,40}$/),
  'registry-key': fc
    .tuple(
      fc.constantFrom('HKLM', 'hkcu', 'HKEY_CLASSES_ROOT', 'HKU', 'HKCC'),
      fc.array(fc.stringMatching(/^[\w .{}-]{1,12}$/), { maxLength: 5 }),
    )
    .map(([hive, path]) => [hive, ...path].join('\\')),
  'user-agent': fc.stringMatching(/^\w[\w/.();, -]{0,60}$/),
};

describe('every normalizer', () => {
  describe.each(INDICATOR_TYPES)('%s', (type) => {
    it.each(Object.entries(ARBITRARY_STRINGS))('never throws and is idempotent on %s', (_name, strings) => {
      fc.assert(
        fc.property(strings, (input) => {
          // Act
          const first = normalize(type, input);

          // Assess
          if (first.ok) expect(normalize(type, first.value)).toEqual(first);
          else expect(first.reason.length).toBeGreaterThan(0);
        }),
        // Counterexamples fast-check found once, kept so they run every time.
        { examples: [['255?\\{.}']] },
      );
    });

    it('accepts generated valid values and is idempotent on them', () => {
      fc.assert(
        fc.property(VALID[type], (input) => {
          // Act
          const first = normalize(type, input);

          // Assess
          expect(first.ok).toBe(true);
          if (first.ok) expect(normalize(type, first.value)).toEqual(first);
        }),
      );
    });
  });

  it('is idempotent under requirePublicSuffix for domains from arbitrary strings', () => {
    fc.assert(
      fc.property(fc.oneof(tokenSoup, publicDomain), (input) => {
        const first = normalizeDomain(input, { requirePublicSuffix: true });
        if (first.ok) expect(normalizeDomain(first.value, { requirePublicSuffix: true })).toEqual(first);
      }),
    );
  });
});

/** Defanging styles seen in reports, applied per character class. */
const dotStyle = fc.constantFrom(
  '.',
  '[.]',
  '(.)',
  '{.}',
  '[dot]',
  '(dot)',
  '{dot}',
  '[ . ]',
  '[DOT]',
  '\\.',
);
const atStyle = fc.constantFrom('@', '[@]', '[at]', '(at)', '{at}', '[ at ]', '(@)', '[AT]');
const separatorStyle = fc.constantFrom('://', '[://]', '[:]//', '[ :// ]', ':[//]', '[//]');
const schemeStyle = (scheme: string) =>
  scheme === 'ftp'
    ? fc.constantFrom('ftp', 'fxp')
    : scheme === 'http'
      ? fc.constantFrom('http', 'hxxp', 'hXXp', 'HXXP', 'hxtp', 'htxp', 'meow')
      : fc.constantFrom('https', 'hxxps', 'hXXps', 'HXXPS');

/** Replace every dot of `text` with a style drawn per dot. */
const defangDots = (text: string) =>
  fc
    .array(dotStyle, { minLength: text.split('.').length, maxLength: text.split('.').length })
    .map((styles) =>
      text.split('.').reduce((out, part, i) => (i === 0 ? part : `${out}${styles[i]}${part}`)),
    );

const simpleUrl = fc
  .tuple(
    fc.constantFrom('http', 'https', 'ftp'),
    publicDomain,
    fc.array(fc.stringMatching(/^[A-Za-z0-9_-]{1,8}$/), { maxLength: 3 }),
  )
  .map(([scheme, host, path]) => ({ scheme, host, path: path.map((p) => `/${p}`).join('') }));

describe('refang', () => {
  it('gives back a domain whatever defang style each dot has', () => {
    fc.assert(
      fc.property(
        publicDomain.chain((domain) => defangDots(domain).map((defanged) => ({ domain, defanged }))),
        ({ domain, defanged }) => {
          expect(refang(defanged)).toBe(domain);
          expect(normalizeDomain(defanged)).toEqual(normalizeDomain(domain));
        },
      ),
    );
  });

  it('gives back an IPv4 address whatever defang style each dot has', () => {
    fc.assert(
      fc.property(
        fc.ipV4().chain((ip) => defangDots(ip).map((defanged) => ({ ip, defanged }))),
        ({ ip, defanged }) => {
          expect(refang(defanged)).toBe(ip);
          expect(normalizeIpv4(defanged)).toEqual({ ok: true, value: ip });
        },
      ),
    );
  });

  it('gives back an e-mail address with a defanged @ and dots', () => {
    fc.assert(
      fc.property(
        fc.tuple(label, publicDomain, atStyle).chain(([local, domain, at]) =>
          defangDots(domain).map((host) => ({
            email: `${local}@${domain}`,
            defanged: `${local}${at}${host}`,
          })),
        ),
        ({ email, defanged }) => {
          expect(refang(defanged)).toBe(email);
          expect(normalizeEmail(defanged)).toEqual(normalizeEmail(email));
        },
      ),
    );
  });

  it('gives back a URL with a defanged scheme, separator and host', () => {
    fc.assert(
      fc.property(
        simpleUrl.chain(({ scheme, host, path }) =>
          fc
            .tuple(schemeStyle(scheme), separatorStyle, defangDots(host))
            .map(([s, sep, h]) => ({ url: `${scheme}://${host}${path}`, defanged: `${s}${sep}${h}${path}` })),
        ),
        ({ url, defanged }) => {
          expect(refang(defanged)).toBe(url);
          expect(normalizeUrl(defanged)).toEqual(normalizeUrl(url));
        },
      ),
    );
  });

  it('never throws and leaves text without defang markers alone', () => {
    fc.assert(
      fc.property(fc.oneof(ARBITRARY_STRINGS.mixed, fc.string({ unit: 'binary' })), (input) => {
        const output = refang(input);
        if (!/[[({\\]|hxxp|hxtp|htxp|meow|fxp/i.test(input)) expect(output).toBe(input);
        else expect(typeof output).toBe('string');
      }),
    );
  });
});
