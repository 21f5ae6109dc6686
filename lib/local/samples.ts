import { readdir, readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Format } from '../../functions/domain/indicator.ts';
import { CONTENT_TYPES, formatOfFile } from './content-types.ts';
import { REPOSITORY_ROOT } from './handlers.ts';

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

/** The format registry, loaded at run time (lib does not import functions code statically). */
export async function formatRegistry(): Promise<{
  detectFormat: (input: Uint8Array) => Format;
  supportedFormats: () => Format[];
}> {
  return import(pathToFileURL(resolve(REPOSITORY_ROOT, 'functions/formats/index.ts')).href);
}

/**
 * Every file in the samples directory with its format and content type. Files of a format this build has no
 * parser for are listed in `skipped` rather than pushed (the API would refuse them).
 */
export async function loadSamples(
  dir = SAMPLES_DIR,
): Promise<{ samples: Sample[]; skipped: { name: string; reason: string }[] }> {
  const { detectFormat, supportedFormats } = await formatRegistry();
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
