import { fail, ok, type Result } from '../result.ts';
import { refang } from './refang.ts';

/**
 * A dotted-quad IPv4 address: four decimal octets 0–255, no leading zeros (which some stacks read as octal).
 *
 * @example normalizeIpv4('198.51.100[.]7') // { ok: true, value: '198.51.100.7' }
 */
export function normalizeIpv4(input: string): Result<string> {
  const text = refang(input.trim());
  const octets = parseIpv4Octets(text);
  return octets ? ok(octets.join('.')) : fail(`expected a dotted-quad IPv4 address, found ${quote(text)}`);
}

/** The four octets of a strict dotted-quad, or undefined. */
export function parseIpv4Octets(text: string): number[] | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const octets: number[] = [];
  for (const part of parts) {
    if (!/^(?:0|[1-9]\d{0,2})$/.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    octets.push(n);
  }
  return octets;
}

/** Shorten and quote a value for an error message. */
export function quote(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 77)}...` : text);
}
