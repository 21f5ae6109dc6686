import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocumentStream } from '../../functions/formats/stream.ts';
import { generateStixBundle } from './generate/stix.ts';

const SELF = fileURLToPath(import.meta.url);
const MB = 1024 * 1024;
/** Indicators per generated piece: about 10 MB of bundle. */
const PIECE_INDICATORS = 9000;
/** Distinct generated pieces; the rest are copies with their object ids renumbered. */
const BASE_PIECES = 4;

export interface StreamingCheck {
  smallMb: number;
  largeMb: number;
  smallPeakRssMb: number;
  largePeakRssMb: number;
  /** largePeakRssMb / smallPeakRssMb: the issue asks for under 2.5 at 10 MB vs 500 MB. */
  ratio: number;
  smallIndicators: number;
  largeIndicators: number;
  /** Bytes of each bundle actually written. */
  smallBytes: number;
  largeBytes: number;
  largeSeconds: number;
}

/**
 * Peak RSS of streaming-parsing a generated STIX bundle of `smallMb` against one of `largeMb`, each in a
 * fresh Node process (so each peak is that parse's own), counting the indicators. The bundles are written
 * to a temporary directory piece by piece (never held whole) and deleted afterwards.
 *
 * @example const { ratio } = await streamingCheck({ smallMb: 10, largeMb: 500 }); // ratio < 2.5
 */
export async function streamingCheck(options: { smallMb: number; largeMb: number }): Promise<StreamingCheck> {
  const dir = mkdtempSync(join(tmpdir(), 'cti-streaming-'));
  try {
    const pieces = basePieces(Math.min(options.smallMb, options.largeMb));
    const smallFile = join(dir, 'small.json');
    const largeFile = join(dir, 'large.json');
    const smallBytes = await writeBundle(smallFile, options.smallMb * MB, pieces);
    const small = await parseInChild(smallFile);
    rmSync(smallFile, { force: true });
    const largeBytes = await writeBundle(largeFile, options.largeMb * MB, pieces);
    const started = performance.now();
    const large = await parseInChild(largeFile);
    const largeSeconds = (performance.now() - started) / 1000;
    return {
      smallMb: options.smallMb,
      largeMb: options.largeMb,
      smallPeakRssMb: round(small.maxRssKb / 1024),
      largePeakRssMb: round(large.maxRssKb / 1024),
      ratio: round(large.maxRssKb / small.maxRssKb),
      smallIndicators: small.indicators,
      largeIndicators: large.indicators,
      smallBytes,
      largeBytes,
      largeSeconds: round(largeSeconds),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const round = (n: number): number => Math.round(n * 100) / 100;

/** The text inside `"objects":[…]` of a few generated bundles, smaller ones for a small check. */
function basePieces(smallestMb: number): string[] {
  const indicators = Math.max(50, Math.min(PIECE_INDICATORS, Math.floor(smallestMb * 900)));
  const pieces: string[] = [];
  for (let seed = 1; seed <= BASE_PIECES; seed++) {
    const text = new TextDecoder().decode(generateStixBundle(indicators, 20240600 + seed).bytes);
    const start = text.indexOf('"objects":[') + '"objects":['.length;
    pieces.push(text.slice(start, text.lastIndexOf(']')));
  }
  return pieces;
}

/** A piece with the ids of its own objects made unique to copy `n` (standard TLP marking ids stay). */
function renumbered(piece: string, n: number): string {
  if (n < BASE_PIECES) return piece;
  const tag = n.toString(16).padStart(8, '0');
  return piece.replace(/(indicator|malware|relationship|identity)--[0-9a-f]{8}/g, `$1--${tag}`);
}

/** Write a bundle of about `targetBytes` piece by piece; returns the bytes written. */
async function writeBundle(file: string, targetBytes: number, pieces: string[]): Promise<number> {
  const out = createWriteStream(file);
  const write = async (text: string): Promise<void> => {
    if (!out.write(text)) await once(out, 'drain');
  };
  let written = 0;
  const head = '{"type":"bundle","id":"bundle--5e1f0c3a-8d1b-4c39-9f3e-2a7b6c5d4e3f","objects":[';
  await write(head);
  written += head.length;
  for (let n = 0; written < targetBytes || n === 0; n++) {
    const piece = renumbered(pieces[n % pieces.length] as string, n);
    // A small target takes only part of a piece: whole objects, cut at an object boundary.
    const room = targetBytes - written;
    const text = piece.length <= room ? piece : piece.slice(0, objectEnd(piece, room));
    await write(n === 0 ? text : `,${text}`);
    written += Buffer.byteLength(text) + (n === 0 ? 0 : 1);
    if (text.length < piece.length) break;
  }
  await write(']}');
  written += 2;
  await new Promise<void>((resolve, reject) =>
    out.end((error?: Error | null) => (error ? reject(error) : resolve())),
  );
  return written;
}

/** The end of the last whole top-level object at or before `limit` in a comma-joined object list. */
function objectEnd(piece: string, limit: number): number {
  const at = piece.lastIndexOf('},{"type"', limit);
  return at === -1 ? piece.indexOf('},{"type"') + 1 || piece.length : at + 1;
}

interface ChildResult {
  indicators: number;
  maxRssKb: number;
}

function parseInChild(file: string): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', SELF, file], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code === 0 && line.startsWith('{')) resolve(JSON.parse(line) as ChildResult);
      else
        reject(
          new Error(
            `streaming parse of ${file} exited ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`,
          ),
        );
    });
  });
}

/** In the child: stream-parse the file, count indicators, report the process's peak RSS. */
async function childMain(file: string): Promise<void> {
  const open = () => createReadStream(file, { highWaterMark: 1 << 16 });
  const { events } = await parseDocumentStream(open, 'stix', {
    feedId: 'bench',
    receivedAt: '2026-01-01T00:00:00.000Z',
  });
  let indicators = 0;
  for await (const event of events) if (event.kind === 'indicator') indicators++;
  process.stdout.write(`${JSON.stringify({ indicators, maxRssKb: process.resourceUsage().maxRSS })}\n`);
}

if (process.argv[1] === SELF && process.argv[2]) {
  await childMain(process.argv[2]);
}
