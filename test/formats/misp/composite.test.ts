import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { joinComposite, splitComposite } from '../../../functions/formats/misp/composite.ts';

describe('splitComposite', () => {
  it.each([
    ['evil.exe|d41d8cd98f00b204e9800998ecf8427e', ['evil.exe', 'd41d8cd98f00b204e9800998ecf8427e']],
    ['198.51.100.7|8080', ['198.51.100.7', '8080']],
    ['HKLM\\Run|a|b', ['HKLM\\Run', 'a|b']],
  ])('splits %s at the first bar', (value, parts) => {
    expect(splitComposite(value)).toEqual(parts);
  });

  it.each(['no-bar', '|leading', 'trailing|', ''])('refuses %j', (value) => {
    expect(splitComposite(value)).toBeUndefined();
  });

  it('round-trips with joinComposite when the first part has no bar', () => {
    const part = fc.string({ minLength: 1 });
    fc.assert(
      fc.property(
        part.filter((s) => !s.includes('|')),
        part,
        (first, second) => {
          expect(splitComposite(joinComposite(first, second))).toEqual([first, second]);
        },
      ),
    );
  });
});
