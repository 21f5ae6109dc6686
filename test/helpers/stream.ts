import type { Format } from '../../functions/domain/indicator.ts';
import { type ParseEvent, type ParseOptions, parseDocument } from '../../functions/formats/index.ts';
import { openBytes, parseDocumentStream } from '../../functions/formats/stream.ts';

export const STREAM_OPTIONS: ParseOptions = { feedId: 'feed', receivedAt: '2026-01-01T00:00:00.000Z' };

/** The events of the buffered parse, or the error it throws. */
export function buffered(bytes: Uint8Array, format: Format, options = STREAM_OPTIONS): ParseEvent[] {
  return [...parseDocument(bytes, format, options).events];
}

/** The events of the streaming parse with chunks of `chunkSize` bytes; counts the passes over the source. */
export async function streamed(
  bytes: Uint8Array,
  format: Format,
  chunkSize: number,
  options = STREAM_OPTIONS,
): Promise<{ events: ParseEvent[]; opens: number }> {
  const open = openBytes(bytes, chunkSize);
  let opens = 0;
  const counted = () => {
    opens++;
    return open();
  };
  const { events } = await parseDocumentStream(counted, format, options);
  const out: ParseEvent[] = [];
  for await (const event of events) out.push(event);
  return { events: out, opens };
}

export const encode = (value: unknown): Uint8Array =>
  new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value));
