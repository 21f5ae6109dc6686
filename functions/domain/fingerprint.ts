import { hash } from 'node:crypto';
import type { IndicatorType } from './indicator.ts';

/**
 * The identity of an indicator across feeds: sha256 of `type:value` in lower-case hex.
 *
 * @example fingerprint('ipv4', '198.51.100.7') // 'c1f0…' (64 hex digits)
 */
export function fingerprint(type: IndicatorType, value: string): string {
  return hash('sha256', `${type}:${value}`, 'hex');
}
