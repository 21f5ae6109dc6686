/** Reopens a document from its start; a streaming parser may call it once per pass. */
export type OpenDocument = () => AsyncIterable<Uint8Array>;

/**
 * Every chunk joined into one buffer: the fallback for formats that need the whole document.
 *
 * @example await readAll(openBytes(new Uint8Array([1, 2, 3]), 2)()) // Uint8Array [1, 2, 3]
 */
export async function readAll(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let length = 0;
  for await (const chunk of chunks) {
    parts.push(chunk);
    length += chunk.length;
  }
  if (parts.length === 1) return parts[0] as Uint8Array;
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/**
 * The first `limit` bytes of a document (fewer when it is shorter); stops reading there.
 *
 * @example await readHead(openBytes(bytes, 100), 8192) // bytes.subarray(0, 8192)
 */
export async function readHead(open: OpenDocument, limit: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let length = 0;
  for await (const chunk of open()) {
    parts.push(chunk);
    length += chunk.length;
    // Leaving the loop early closes the source (an S3 body is destroyed, not read to its end).
    if (length >= limit) break;
  }
  const joined = await readAll(
    (async function* () {
      yield* parts;
    })(),
  );
  return joined.subarray(0, limit);
}

/**
 * A document already in memory as an `open` function yielding `chunkSize`-byte views (tests, the CLI).
 *
 * @example for await (const chunk of openBytes(bytes, 65536)()) total += chunk.length;
 */
export function openBytes(bytes: Uint8Array, chunkSize = 1 << 16): OpenDocument {
  const size = Math.max(1, Math.floor(chunkSize));
  return async function* () {
    for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
  };
}
