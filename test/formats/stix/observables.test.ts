import { describe, expect, it } from 'vitest';
import { observableValues } from '../../../functions/formats/stix/observables.ts';

describe('observableValues', () => {
  it.each([
    [{ type: 'ipv4-addr', value: '198.51.100.3' }, [['ipv4', '198.51.100.3', 'value']]],
    [{ type: 'ipv4-addr', value: '198.51.100.0/24' }, [['cidr', '198.51.100.0/24', 'value']]],
    [{ type: 'ipv6-addr', value: '2001:db8::1' }, [['ipv6', '2001:db8::1', 'value']]],
    [{ type: 'domain-name', value: 'evil.example.org' }, [['domain', 'evil.example.org', 'value']]],
    [{ type: 'url', value: 'http://evil.example.org/' }, [['url', 'http://evil.example.org/', 'value']]],
    [{ type: 'email-addr', value: 'a@evil.example.org' }, [['email', 'a@evil.example.org', 'value']]],
    [
      { type: 'file', name: 'a.exe', hashes: { MD5: 'aa', 'SHA-256': 'bb', TLSH: 'cc' } },
      [
        ['md5', 'aa', 'hashes.MD5'],
        ['sha256', 'bb', 'hashes.SHA-256'],
        ['filename', 'a.exe', 'name'],
      ],
    ],
    [{ type: 'x509-certificate', hashes: { 'SHA-1': 'dd' } }, [['sha1', 'dd', 'hashes.SHA-1']]],
    [{ type: 'artifact', hashes: { 'SHA-512': 'ee' } }, [['sha512', 'ee', 'hashes.SHA-512']]],
    [{ type: 'windows-registry-key', key: 'HKLM\\Run' }, [['registry-key', 'HKLM\\Run', 'key']]],
    [{ type: 'mutex', name: 'Global\\m' }, [['mutex', 'Global\\m', 'name']]],
    [{ type: 'autonomous-system', number: 64496 }, [['asn', '64496', 'number']]],
    [{ type: 'network-traffic', protocols: ['tcp'] }, []],
    [{ type: 'process', pid: 4 }, []],
    [{ type: 'ipv4-addr', value: 7 }, []],
    [{ type: 'file', hashes: null }, []],
  ])('reads %j', (sco, expected) => {
    // Act
    const values = observableValues(sco, sco.type);

    // Assess
    expect(values.map((v) => [v.type, v.value, v.property])).toEqual(expected);
  });
});
