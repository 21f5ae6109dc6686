import { describe, expect, it } from 'vitest';
import {
  normalizeAsn,
  normalizeCve,
  normalizeFilename,
  normalizeMutex,
  normalizeRegistryKey,
  normalizeSsdeep,
  normalizeUserAgent,
} from '../../../functions/domain/normalize/misc.ts';

const SSDEEP = '96:s4Ud1Lj96tHHlZDrwciQmA:s4ULT6Z3ciQmA';

describe('normalizeSsdeep', () => {
  it.each([
    [SSDEEP, SSDEEP],
    [` ${SSDEEP} `, SSDEEP],
    [`"${SSDEEP}"`, SSDEEP],
    [`${SSDEEP},"sample.exe"`, SSDEEP],
    ['3:AXGBicFlgVNhBGcL6wCrFQEv:AXGHsNhxLsr2C', '3:AXGBicFlgVNhBGcL6wCrFQEv:AXGHsNhxLsr2C'],
    ['49152:a+b/c:d+e/f', '49152:a+b/c:d+e/f'],
  ])('accepts %j as %j (case kept)', (input, expected) => {
    expect(normalizeSsdeep(input)).toEqual({ ok: true, value: expected });
  });

  it.each([
    [''],
    ['96'],
    ['96:abc'],
    ['0:abc:def'],
    ['96::def'],
    ['96:abc:'],
    ['96:ab-c:def'],
    ['x:abc:def'],
    [`96:${'a'.repeat(65)}:def`],
    ['d41d8cd98f00b204e9800998ecf8427e'],
  ])('rejects %j', (input) => {
    expect(normalizeSsdeep(input).ok).toBe(false);
  });
});

describe('normalizeCve', () => {
  it.each([
    ['CVE-2021-44228', 'CVE-2021-44228'],
    ['cve-2021-44228', 'CVE-2021-44228'],
    [' Cve-2014-0160 ', 'CVE-2014-0160'],
    ['CVE-1999-0001', 'CVE-1999-0001'],
    ['CVE-2024-1234567', 'CVE-2024-1234567'],
    ['CVE\u20112021\u201144228', 'CVE-2021-44228'],
    ['CVE\u20132021\u201344228', 'CVE-2021-44228'],
  ])('accepts %j as %j', (input, expected) => {
    expect(normalizeCve(input)).toEqual({ ok: true, value: expected });
  });

  it.each([
    [''],
    ['CVE-2021-123'],
    ['CVE-1998-0001'],
    ['CVE-21-44228'],
    ['CVE-2021'],
    ['2021-44228'],
    ['CAN-2021-44228'],
    ['CVE-2021-44228a'],
  ])('rejects %j', (input) => {
    expect(normalizeCve(input).ok).toBe(false);
  });
});

describe('normalizeAsn', () => {
  it.each([
    ['AS13335', 'AS13335'],
    ['as13335', 'AS13335'],
    ['AS 13335', 'AS13335'],
    ['13335', 'AS13335'],
    ['AS0', 'AS0'],
    ['AS4294967295', 'AS4294967295'],
    ['1.10', 'AS65546'],
    ['AS65535.65535', 'AS4294967295'],
  ])('accepts %j as %j', (input, expected) => {
    expect(normalizeAsn(input)).toEqual({ ok: true, value: expected });
  });

  it.each([
    [''],
    ['AS'],
    ['ASN13335'],
    ['AS01'],
    ['AS4294967296'],
    ['AS65536.0'],
    ['AS1.65536'],
    ['AS-1'],
    ['AS1e3'],
  ])('rejects %j', (input) => {
    expect(normalizeAsn(input).ok).toBe(false);
  });
});

describe('normalizeFilename', () => {
  it.each([
    ['loader.dll', 'loader.dll'],
    ['  Invoice_0412.DOCM ', 'Invoice_0412.DOCM'],
    [
      'C:\\Users\\<USER>\\AppData\\Local\\Temp\\~pwshld3.dat',
      'C:\\Users\\<USER>\\AppData\\Local\\Temp\\~pwshld3.dat',
    ],
    ['/tmp/.X11-unix/x', '/tmp/.X11-unix/x'],
    ['документ.pdf', 'документ.pdf'],
  ])('accepts %j as %j (case kept)', (input, expected) => {
    expect(normalizeFilename(input)).toEqual({ ok: true, value: expected });
  });

  it.each([[''], ['   '], ['a\u0000.exe'], ['line\nbreak.exe'], ['x'.repeat(1025)]])(
    'rejects %j',
    (input) => {
      expect(normalizeFilename(input).ok).toBe(false);
    },
  );
});

describe('normalizeMutex', () => {
  it.each([
    ['Global\\MSCTF.Shared.MUTEX.3f2', 'Global\\MSCTF.Shared.MUTEX.3f2'],
    [' _SHuassist.mtx ', '_SHuassist.mtx'],
  ])('accepts %j as %j', (input, expected) => {
    expect(normalizeMutex(input)).toEqual({ ok: true, value: expected });
  });

  it.each([[''], ['a\u0007b'], ['x'.repeat(1025)]])('rejects %j', (input) => {
    expect(normalizeMutex(input).ok).toBe(false);
  });
});

describe('normalizeUserAgent', () => {
  it.each([
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64)', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64)'],
    ['  Mozilla/5.0   (X11;\tLinux x86_64) ', 'Mozilla/5.0 (X11; Linux x86_64)'],
    ['curl/8.5.0\r\n', 'curl/8.5.0'],
    ['Go-http-client/1.1', 'Go-http-client/1.1'],
  ])('accepts %j as %j', (input, expected) => {
    expect(normalizeUserAgent(input)).toEqual({ ok: true, value: expected });
  });

  it.each([[''], ['\t\n'], ['bad\u0000agent'], ['x'.repeat(2049)]])('rejects %j', (input) => {
    expect(normalizeUserAgent(input).ok).toBe(false);
  });
});

describe('normalizeRegistryKey', () => {
  it.each([
    ['HKLM\\Software\\Run', 'HKEY_LOCAL_MACHINE\\Software\\Run'],
    ['hklm\\Software\\Run\\', 'HKEY_LOCAL_MACHINE\\Software\\Run'],
    ['HKCU\\\\Software\\\\Microsoft', 'HKEY_CURRENT_USER\\Software\\Microsoft'],
    ['HKCR\\.lnk', 'HKEY_CLASSES_ROOT\\.lnk'],
    ['HKU\\S-1-5-21\\Environment', 'HKEY_USERS\\S-1-5-21\\Environment'],
    ['HKCC\\System', 'HKEY_CURRENT_CONFIG\\System'],
    ['hkey_local_machine\\SYSTEM\\CurrentControlSet', 'HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet'],
    [
      'HKEY_CURRENT_USER\\Software\\Classes\\ms-settings',
      'HKEY_CURRENT_USER\\Software\\Classes\\ms-settings',
    ],
    ['HKLM', 'HKEY_LOCAL_MACHINE'],
  ])('accepts %j as %j', (input, expected) => {
    expect(normalizeRegistryKey(input)).toEqual({ ok: true, value: expected });
  });

  it.each([
    [''],
    ['Software\\Run'],
    ['HKEY_FOO\\Software'],
    ['HKXX\\Software'],
    ['\\\\'],
    ['HKLM\\a\u0000b'],
  ])('rejects %j', (input) => {
    expect(normalizeRegistryKey(input).ok).toBe(false);
  });
});
