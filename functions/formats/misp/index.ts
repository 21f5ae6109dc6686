import type { Format } from '../../domain/indicator.ts';
import { decodeUtf8 } from '../common.ts';
import { jsonError } from '../json-fault.ts';
import { DocumentError, type FormatParser, type ParseEvent, type ParseOptions } from '../types.ts';
import { mispEvents } from './parse.ts';
import { parseMispStream } from './stream.ts';

export { joinComposite, splitComposite } from './composite.ts';
export { DEFAULT_MISP_CONFIDENCE, mispEvents } from './parse.ts';
export { readTags } from './tags.ts';
export { MISP_TYPE_MAP, unmappedReason } from './type-map.ts';

// MISP's capitalised container keys, or attribute/event fields no other format uses.
const MISP_KEYS = /"(?:Event|Attribute|Object)"\s*:|"(?:threat_level_id|to_ids)"\s*:/;

/**
 * True when a document's first bytes look like MISP JSON: it opens with `{` or `[` and has MISP's
 * `Event` / `Attribute` / `Object` keys or its `threat_level_id` / `to_ids` fields.
 *
 * @example detectMisp('{"response":[{"Event":{"info":"x"}}]}') // true
 */
export function detectMisp(head: string): boolean {
  const start = head.trimStart().charAt(0);
  return (start === '{' || start === '[') && MISP_KEYS.test(head);
}

/**
 * Parse MISP JSON bytes. Throws DocumentError only when the bytes are not JSON; every other problem is a
 * quarantine record.
 *
 * @example [...parseMisp(bytes, 'misp', { feedId: 'misp', receivedAt })].filter((e) => e.kind === 'indicator')
 */
export function parseMisp(input: Uint8Array, format: Format, options: ParseOptions): Iterable<ParseEvent> {
  let doc: unknown;
  try {
    doc = JSON.parse(decodeUtf8(input));
  } catch (error) {
    throw new DocumentError(`MISP document: ${jsonError(error, input)}`);
  }
  return mispEvents(doc, format, options);
}

/** MISP event JSON (single events, arrays, restSearch responses, attribute lists and fragments). */
export const mispParser: FormatParser = {
  format: 'misp',
  detect: detectMisp,
  parse: (input, options) => parseMisp(input, 'misp', options),
  parseStream: (open, options) => parseMispStream(open, 'misp', options),
};

/** One `{uuid}.json` event of a MISP feed: MISP JSON whose indicators name `misp-feed` as their format. */
export const mispFeedParser: FormatParser = {
  format: 'misp-feed',
  parse: (input, options) => parseMisp(input, 'misp-feed', options),
  parseStream: (open, options) => parseMispStream(open, 'misp-feed', options),
};
