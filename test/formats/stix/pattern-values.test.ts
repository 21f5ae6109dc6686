import { describe, expect, it } from 'vitest';
import { parsePattern } from '../../../functions/formats/stix/pattern.ts';
import { patternValues } from '../../../functions/formats/stix/pattern-values.ts';

const valuesOf = (pattern: string) =>
  patternValues(parsePattern(pattern)).values.map((v) => [v.type, v.value, v.combination]);

describe('patternValues', () => {
  it.each([
    ["[ipv4-addr:value = '198.51.100.7']", [['ipv4', '198.51.100.7', 'alone']]],
    ["[ipv4-addr:value = '198.51.100.0/24']", [['cidr', '198.51.100.0/24', 'alone']]],
    ["[ipv6-addr:value = '2001:db8::1']", [['ipv6', '2001:db8::1', 'alone']]],
    ["[ipv6-addr:value = '2001:db8::/32']", [['cidr', '2001:db8::/32', 'alone']]],
    ["[domain-name:value = 'evil.example']", [['domain', 'evil.example', 'alone']]],
    ["[url:value = 'http://evil.example/x']", [['url', 'http://evil.example/x', 'alone']]],
    ["[email-addr:value = 'a@evil.example']", [['email', 'a@evil.example', 'alone']]],
    ["[file:hashes.MD5 = 'aa']", [['md5', 'aa', 'alone']]],
    ["[file:hashes.'SHA-1' = 'bb']", [['sha1', 'bb', 'alone']]],
    ["[file:hashes.'SHA-256' = 'cc']", [['sha256', 'cc', 'alone']]],
    ["[file:hashes.SHA256 = 'cc']", [['sha256', 'cc', 'alone']]],
    ["[file:hashes.'SHA-512' = 'dd']", [['sha512', 'dd', 'alone']]],
    ["[file:hashes.SSDEEP = '3:a:b']", [['ssdeep', '3:a:b', 'alone']]],
    ["[file:name = 'dropper.exe']", [['filename', 'dropper.exe', 'alone']]],
    ["[windows-registry-key:key = 'HKLM\\\\Run']", [['registry-key', 'HKLM\\Run', 'alone']]],
    ["[mutex:name = 'Global\\\\m1']", [['mutex', 'Global\\m1', 'alone']]],
    ['[autonomous-system:number = 64496]', [['asn', '64496', 'alone']]],
    ["[x509-certificate:hashes.'SHA-1' = 'ee']", [['sha1', 'ee', 'alone']]],
    ["[ipv4-addr:value ISSUBSET '198.51.100.0/24']", [['cidr', '198.51.100.0/24', 'alone']]],
    [
      "[domain-name:value IN ('a.example', 'b.example')]",
      [
        ['domain', 'a.example', 'alone'],
        ['domain', 'b.example', 'alone'],
      ],
    ],
    [
      "[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '203.0.113.33']",
      [['ipv4', '203.0.113.33', 'and']],
    ],
    [
      "[network-traffic:dst_ref.type = 'domain-name' AND network-traffic:dst_ref.value = 'c2.example']",
      [['domain', 'c2.example', 'and']],
    ],
    [
      "[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value ISSUBSET '203.0.113.0/24']",
      [['cidr', '203.0.113.0/24', 'and']],
    ],
    ["[email-message:from_ref.value = 'x@evil.example']", [['email', 'x@evil.example', 'alone']]],
    ["[file:name = 'a.exe' AND file:size > 10]", [['filename', 'a.exe', 'and']]],
    [
      "[domain-name:value = 'a.example'] FOLLOWEDBY [url:value = 'http://b.example/']",
      [
        ['domain', 'a.example', 'followedby'],
        ['url', 'http://b.example/', 'followedby'],
      ],
    ],
    [
      "[domain-name:value = 'a.example'] OR [url:value = 'http://b.example/']",
      [
        ['domain', 'a.example', 'alone'],
        ['url', 'http://b.example/', 'alone'],
      ],
    ],
    [
      "[domain-name:value = 'a.example'] AND [domain-name:value = 'b.example']",
      [
        ['domain', 'a.example', 'and'],
        ['domain', 'b.example', 'and'],
      ],
    ],
  ])('mines %s', (pattern, expected) => {
    // Act
    const values = valuesOf(pattern);

    // Assess
    expect(values).toEqual(expected);
  });

  it.each([
    ["[ipv4-addr:value != '198.51.100.7']", 'a != comparison'],
    ["[ipv4-addr:value NOT = '198.51.100.7']", 'a negated comparison'],
    ["[network-traffic:dst_ref.value = '203.0.113.33']", 'a ref whose type is not pinned'],
    [
      "[network-traffic:dst_ref.type = 'ipv4-addr' OR network-traffic:dst_ref.value = '203.0.113.33']",
      'a ref pinned only in another OR branch',
    ],
    ["[email-message:subject MATCHES 'invoice']", 'a MATCHES comparison'],
    ['[file:size > 1024]', 'an unsupported path'],
    ["[domain-name:value LIKE '%.example']", 'a LIKE comparison'],
    ['[EXISTS file:name]', 'an EXISTS test'],
    ["[process:name = 'cmd.exe']", 'a path of another object type'],
  ])('mines nothing from %s (%s)', (pattern) => {
    // Act
    const values = valuesOf(pattern);

    // Assess
    expect(values).toEqual([]);
  });

  it('keeps the path text, the operator and whether a qualifier applies', () => {
    // Act
    const [value] = patternValues(parsePattern("[file:hashes.'SHA-256' IN ('aa')] WITHIN 60 SECONDS")).values;

    // Assess
    expect(value).toEqual({
      type: 'sha256',
      value: 'aa',
      path: "file:hashes.'SHA-256'",
      operator: 'IN',
      combination: 'alone',
      qualified: true,
    });
  });

  it('reports a supported path compared with a constant of the wrong kind', () => {
    // Act
    const { values, problems } = patternValues(parsePattern('[domain-name:value = 42]'));

    // Assess
    expect(values).toEqual([]);
    expect(problems).toEqual([
      {
        path: 'domain-name:value',
        reason: 'domain-name:value = expects a quoted string, found an int constant',
      },
    ]);
  });
});
