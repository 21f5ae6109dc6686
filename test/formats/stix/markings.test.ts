import { describe, expect, it } from 'vitest';
import { Markings, markingMeaning, TLP_2_EXTENSION } from '../../../functions/formats/stix/markings.ts';

describe('markingMeaning', () => {
  it.each([
    [{ id: 'marking-definition--f88d31f6-486f-44da-b317-01333bde0b82' }, { kind: 'tlp', tlp: 'amber' }],
    [
      { definition_type: 'tlp', definition: { tlp: 'white' } },
      { kind: 'tlp', tlp: 'clear' },
    ],
    [
      { definition_type: 'TLP', definition: { tlp: 'AMBER+STRICT' } },
      { kind: 'tlp', tlp: 'amber+strict' },
    ],
    [{ extensions: { [TLP_2_EXTENSION]: { tlp_2_0: 'red' } } }, { kind: 'tlp', tlp: 'red' }],
    [{ definition_type: 'statement', definition: { statement: 'Copyright' } }, { kind: 'other' }],
    [{ definition_type: 'pap', definition: { pap: 'green' } }, { kind: 'other' }],
    [
      { name: 'TLP:GREEN', definition_type: 'custom' },
      { kind: 'tlp', tlp: 'green' },
    ],
    [
      { extensions: { [TLP_2_EXTENSION]: { tlp_2_0: 'purple' } } },
      { kind: 'unknown-tlp', reason: 'TLP 2.0 extension with unknown level "purple"' },
    ],
    [
      { definition_type: 'tlp', definition: 'red' },
      { kind: 'unknown-tlp', reason: 'TLP marking with unknown level "red"' },
    ],
    [
      { name: 'TLP:ULTRA', definition_type: 'custom' },
      { kind: 'unknown-tlp', reason: 'TLP-like marking "TLP:ULTRA"' },
    ],
  ])('reads %j', (def, meaning) => {
    expect(markingMeaning(def)).toEqual(meaning);
  });
});

describe('Markings.resolve', () => {
  it('keeps the meaning of a predefined id even when a document redefines it', () => {
    // Prepare
    const markings = new Markings();
    const red = 'marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed';
    markings.add({ id: red, definition_type: 'tlp', definition: { tlp: 'white' } });
    const result = { tlp: undefined };

    // Act
    const failed = markings.resolve([red], result);

    // Assess
    expect([failed, result.tlp]).toEqual([undefined, 'red']);
  });

  it('fails closed on a ref that is not a string', () => {
    expect(new Markings().resolve([42], { tlp: undefined })).toBe(
      'marking ref 42 is not a marking-definition id',
    );
  });
});
