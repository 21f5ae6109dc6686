import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MispAttributeSchema, readAttribute } from '../../../functions/formats/misp/schema.ts';

describe('readAttribute', () => {
  it.each([
    [
      { type: 'md5', value: 'x', to_ids: '1', deleted: '0', timestamp: '1700000000' },
      { to_ids: true, deleted: false, timestamp: 1700000000 },
    ],
    [
      { type: 'md5', value: 'x', to_ids: 0, deleted: 1, timestamp: 12 },
      { to_ids: false, deleted: true, timestamp: 12 },
    ],
    [
      { type: 'md5', value: 'x', to_ids: 'true', first_seen: null },
      { to_ids: true, first_seen: null },
    ],
  ])('reads MISP flags and numbers written either way: %j', (raw, expected) => {
    expect(readAttribute(raw)).toEqual({ success: true, data: expect.objectContaining(expected) });
  });

  it.each([
    [{ type: 'md5', value: 'x', to_ids: 'constructor' }, 'to_ids'],
    [{ type: 'md5', value: 'x', timestamp: '-5' }, 'timestamp'],
    [{ type: '', value: 'x' }, 'type'],
    [{ type: 'md5', value: 'x', Tag: [{ colour: '#fff' }] }, 'Tag'],
  ])('rejects %j naming the key', (raw, key) => {
    const read = readAttribute(raw);
    expect(read.success).toBe(false);
    if (!read.success) expect(read.error.issues[0]?.path[0]).toBe(key);
  });

  it('gives the same answer as MispAttributeSchema for any attribute-ish shape', () => {
    const scalar = fc.oneof(
      fc.string({ maxLength: 6 }),
      fc.integer({ min: -2, max: 2_000_000_000 }),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.constant(undefined),
      fc.constantFrom('1', '0', 'true', 'false', ' 7 ', 'constructor', '__proto__'),
    );
    const tag = fc.oneof(fc.record({ name: fc.string() }), fc.record({ name: scalar }), scalar);
    const raw = fc.record(
      {
        type: fc.oneof(fc.constantFrom('md5', 'ip-dst'), scalar),
        value: fc.oneof(fc.string(), scalar),
        uuid: scalar,
        category: scalar,
        comment: scalar,
        to_ids: scalar,
        deleted: scalar,
        timestamp: scalar,
        first_seen: scalar,
        last_seen: scalar,
        object_relation: scalar,
        Tag: fc.oneof(fc.array(tag, { maxLength: 3 }), scalar),
        Galaxy: fc.oneof(
          fc.constant([]),
          fc.array(fc.record({ GalaxyCluster: fc.array(fc.record({ value: fc.string() })) }), {
            maxLength: 2,
          }),
          scalar,
        ),
        Sighting: fc.oneof(
          fc.array(fc.record({ type: scalar }, { requiredKeys: [] }), { maxLength: 3 }),
          scalar,
        ),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(raw, (r) => {
        const fast = readAttribute(r);
        const slow = MispAttributeSchema.safeParse(r);
        expect(fast.success).toBe(slow.success);
        if (fast.success && slow.success) expect(fast.data).toEqual(slow.data);
      }),
      { numRuns: 1000 },
    );
  });
});
