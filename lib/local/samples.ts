import { readdir, readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { Format } from '../../functions/domain/indicator.ts';
import { detectFormat, supportedFormats } from '../../functions/formats/index.ts';
import { CONTENT_TYPES, formatOfFile } from './content-types.ts';
import { REPOSITORY_ROOT } from './runtime.ts';

/** A bundled sample document, ready to push. */
export interface Sample {
  name: string;
  format: Format;
  contentType: string;
  /** One feed per format, so GET /status/feeds shows what came from where. */
  feedId: string;
  body: Buffer;
}

export const SAMPLES_DIR = resolve(REPOSITORY_ROOT, 'samples');

/**
 * Every file in the samples directory with its format and content type. Files of a format this build has no
 * parser for are listed in `skipped` rather than pushed (the API would refuse them).
 */
export async function loadSamples(
  dir = SAMPLES_DIR,
): Promise<{ samples: Sample[]; skipped: { name: string; reason: string }[] }> {
  const supported = new Set(supportedFormats());
  const names = (await readdir(dir, { withFileTypes: true }))
    .filter(
      (e) => e.isFile() && !e.name.startsWith('.') && !/^readme/i.test(e.name) && !/licen[cs]e/i.test(e.name),
    )
    .map((e) => e.name)
    .sort();
  const samples: Sample[] = [];
  const skipped: { name: string; reason: string }[] = [];
  for (const name of names) {
    const body = await readFile(join(dir, name));
    const format = formatOfFile(name, body, detectFormat);
    if (!supported.has(format)) {
      skipped.push({ name, reason: `no ${format} parser in this build` });
      continue;
    }
    samples.push({
      name: basename(name),
      format,
      contentType: CONTENT_TYPES[format],
      feedId: `sample-${format}`,
      body,
    });
  }
  return { samples, skipped };
}
