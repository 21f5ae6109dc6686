import { describe, expect, it } from 'vitest';
import { refang } from '../../../functions/domain/normalize/refang.ts';

describe('refang', () => {
  it.each([
    ['hxxp://evil.com', 'http://evil.com', 'hxxp'],
    ['hxxps://evil.com', 'https://evil.com', 'hxxps'],
    ['hXXps://evil.com', 'https://evil.com', 'mixed-case hXXps'],
    ['HXXP://evil.com', 'http://evil.com', 'upper-case HXXP'],
    ['hxtp://evil.com', 'http://evil.com', 'hxtp'],
    ['htxp://evil.com', 'http://evil.com', 'htxp'],
    ['meow://evil.com', 'http://evil.com', 'meow'],
    ['fxp://evil.com', 'ftp://evil.com', 'fxp'],
    ['evil[.]com', 'evil.com', '[.]'],
    ['evil(.)com', 'evil.com', '(.)'],
    ['evil{.}com', 'evil.com', '{.}'],
    ['evil[dot]com', 'evil.com', '[dot]'],
    ['evil(dot)com', 'evil.com', '(dot)'],
    ['evil{dot}com', 'evil.com', '{dot}'],
    ['evil[DOT]com', 'evil.com', '[DOT]'],
    ['evil\\.com', 'evil.com', 'backslash-escaped dot'],
    ['phish[@]evil.com', 'phish@evil.com', '[@]'],
    ['phish[at]evil.com', 'phish@evil.com', '[at]'],
    ['phish(at)evil.com', 'phish@evil.com', '(at)'],
    ['phish{at}evil.com', 'phish@evil.com', '{at}'],
    ['http[:]//evil.com', 'http://evil.com', '[:]'],
    ['hxxp[:]//evil.com', 'http://evil.com', 'hxxp with [:]'],
    ['http[://]evil.com', 'http://evil.com', '[://]'],
    ['hxxps[://]evil.com', 'https://evil.com', 'hxxps with [://]'],
    ['http:[//]evil.com', 'http://evil.com', ':[//]'],
    ['hxxp[//]evil.com', 'http://evil.com', 'hxxp with [//]'],
    ['hxxps[ // ]evil.com', 'https://evil.com', 'spaces inside [ // ]'],
    ['evil[ . ]com', 'evil.com', 'spaces inside [ . ]'],
    ['evil( dot )com', 'evil.com', 'spaces inside ( dot )'],
    ['phish[ at ]evil.com', 'phish@evil.com', 'spaces inside [ at ]'],
    ['http[ : ]//evil.com', 'http://evil.com', 'spaces inside [ : ]'],
    ['hxxp[ :// ]a[.]b(.)c{.}d', 'http://a.b.c.d', 'every style at once'],
    ['255?\\{.}', '255?.', 'a defang that exposes another (found by fast-check)'],
    ['evil[[.]]com', 'evil.com', 'nested brackets'],
  ])('refangs %j to %j (%s)', (input, expected) => {
    // Act
    const output = refang(input);

    // Assess
    expect(output).toBe(expected);
  });

  it.each([
    ['https://evil.com/a?b=c'],
    ['plain prose without indicators'],
    ['wiki/Foo_(bar)'],
    ['array[0] and (x) and {y}'],
    ['C:\\Windows\\System32'],
    ['meowing cats'],
    [''],
  ])('leaves %j unchanged', (input) => {
    expect(refang(input)).toBe(input);
  });
});
