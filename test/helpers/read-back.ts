import type { Format } from '../../functions/domain/indicator.ts';
import { type ParseEvent, parseDocument } from '../../functions/formats/index.ts';

/**
 * What this project's own parser makes of something it served (an export, a TAXII envelope's objects, a
 * MISP feed event): the indicators as `type:value`, and the quarantined records (a round trip has none).
 */
export function readBack(
  document: Uint8Array | { stixObjects: unknown[] },
  format: Format,
): { values: string[]; events: ParseEvent[]; quarantined: ParseEvent[] } {
  const bytes =
    document instanceof Uint8Array
      ? document
      : Buffer.from(
          JSON.stringify({
            type: 'bundle',
            id: 'bundle--7c1a7e54-1c0b-4b8e-9b6b-6d4f3b1d2a11',
            objects: document.stixObjects,
          }),
        );
  const events = [
    ...parseDocument(bytes, format, { feedId: 'read-back', receivedAt: new Date().toISOString() }).events,
  ];
  return {
    values: events.flatMap((e) =>
      e.kind === 'indicator' ? [`${e.indicator.type}:${e.indicator.value}`] : [],
    ),
    events,
    quarantined: events.filter((e) => e.kind === 'quarantine'),
  };
}
