import { describe, expect, it } from 'vitest';
import { normalizeUrl } from '../../../functions/domain/normalize/url.ts';

describe('normalizeUrl', () => {
  it.each([
    [
      'HTTP://Evil.COM/Path?Q=V#Frag',
      'http://evil.com/Path?Q=V#Frag',
      'scheme and host lower case, rest kept',
    ],
    ['http://evil.com:80/a', 'http://evil.com/a', 'default http port dropped'],
    ['https://evil.com:443/a', 'https://evil.com/a', 'default https port dropped'],
    ['https://evil.com:8443/a', 'https://evil.com:8443/a', 'other port kept'],
    ['http://evil.com:443/a', 'http://evil.com:443/a', 'https port on http kept'],
    ['https://evil.com', 'https://evil.com/', 'empty path becomes /'],
    ['http://bücher.de/x', 'http://xn--bcher-kva.de/x', 'IDN host to punycode'],
    ['http://evil.com./x', 'http://evil.com/x', 'trailing dot on the host dropped'],
    ['hxxps://evil[.]com/a?b=1', 'https://evil.com/a?b=1', 'refanged'],
    ['hXXp[://]cdn[.]evil[.]net/x', 'http://cdn.evil.net/x', 'refanged [://]'],
    ['evil.com/gate.php', 'http://evil.com/gate.php', 'no scheme reads as http'],
    ['evil.com:8080/x', 'http://evil.com:8080/x', 'no scheme, with a port'],
    ['http://198.51.100.7/a', 'http://198.51.100.7/a', 'IPv4 host'],
    ['http://[2001:DB8::1]:8080/', 'http://[2001:db8::1]:8080/', 'IPv6 host'],
    ['ftp://files.evil.com/pub/x.bin', 'ftp://files.evil.com/pub/x.bin', 'ftp'],
    ['http://evil.com/a/../b/./c', 'http://evil.com/b/c', 'dot segments resolved'],
  ])('accepts %j as %j (%s)', (input, expected) => {
    // Act
    const result = normalizeUrl(input);

    // Assess
    expect(result).toEqual({ ok: true, value: expected });
  });

  it.each([
    ['', 'empty'],
    ['http://not-an-ioc', 'host without a suffix'],
    ['http://wiki/page', 'intra-document link'],
    ['http://evil.test/', 'special-use suffix'],
    ['http://loader.dll/', 'file name as host'],
    ['http://999.1.1.1/', 'IPv4 host out of range'],
    ['http://[fe80::1::2]/', 'bad IPv6 host'],
    ['http://evil.com:99999/', 'port out of range'],
    ['mailto:phish@evil.com', 'no network host'],
    ['javascript:alert(1)', 'script scheme'],
    ['file:///etc/passwd', 'no host'],
    ['http://evil.com/a b', 'white space'],
    ['http://', 'scheme only'],
    ['http://ev!l.com/', 'bad host character'],
  ])('rejects %j (%s)', (input) => {
    // Act
    const result = normalizeUrl(input);

    // Assess
    expect(result.ok).toBe(false);
  });

  it('says why a host without a public suffix is refused', () => {
    expect(normalizeUrl('http://not-an-ioc')).toEqual({
      ok: false,
      reason: 'URL host: expected a domain name with at least two labels, found "not-an-ioc"',
    });
  });
});
