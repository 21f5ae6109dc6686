import type { IndicatorDraft } from '../domain/build.ts';
import type { Format, IndicatorSource } from '../domain/indicator.ts';
import type { ParseOptions } from './types.ts';

/**
 * The source block of every indicator a parser emits.
 *
 * @example sourceOf('csv', options, undefined, 'line:3') // { feedId, format: 'csv', receivedAt, rawRef: 'line:3' }
 */
export function sourceOf(
  format: Format,
  options: ParseOptions,
  objectId: string | undefined,
  rawRef: string | undefined,
): IndicatorSource {
  const source: IndicatorSource = { feedId: options.feedId, format, receivedAt: options.receivedAt };
  if (objectId !== undefined) source.objectId = objectId;
  if (rawRef !== undefined) source.rawRef = rawRef;
  if (options.documentId !== undefined) source.documentId = options.documentId;
  return source;
}

/**
 * The feed's defaults (confidence, TLP, labels) as draft fields; a source's own values override them.
 *
 * @example feedDefaults({ feedId: 'f', receivedAt }) // { confidence: undefined, tlp: undefined, labels: [] }
 */
export function feedDefaults(options: ParseOptions): Pick<IndicatorDraft, 'confidence' | 'tlp' | 'labels'> {
  const defaults = options.feedConfig?.defaults;
  return { confidence: defaults?.confidence, tlp: defaults?.tlp, labels: defaults?.labels ?? [] };
}

/**
 * True when the feed's type filter lets this type through.
 *
 * @example typeAllowed({ feedId: 'f', receivedAt }, 'ipv4') // true (no filter)
 */
export function typeAllowed(options: ParseOptions, type: string): boolean {
  const types = options.feedConfig?.filters.types;
  return types === undefined || (types as readonly string[]).includes(type);
}

const decoder = new TextDecoder('utf-8');

/**
 * Decode UTF-8 bytes, dropping a byte-order mark.
 *
 * @example decodeUtf8(new Uint8Array([0xef, 0xbb, 0xbf, 0x61])) // 'a'
 */
export function decodeUtf8(input: Uint8Array): string {
  const text = decoder.decode(input);
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
