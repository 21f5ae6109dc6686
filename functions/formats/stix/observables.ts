import type { IndicatorType } from '../../domain/indicator.ts';
import { hashType } from './pattern-values.ts';
import type { StixObject } from './validate.ts';

/** One value a cyber-observable object carries, with the property it came from. */
export interface ObservableValue {
  type: IndicatorType;
  value: string;
  /** The SCO property, e.g. `value`, `hashes.SHA-256`, `name`. */
  property: string;
}

const VALUE_TYPES: Record<string, IndicatorType> = {
  'domain-name': 'domain',
  url: 'url',
  'email-addr': 'email',
};

function addHashes(hashes: unknown, out: ObservableValue[]): void {
  if (typeof hashes !== 'object' || hashes === null) return;
  for (const [name, value] of Object.entries(hashes)) {
    const type = hashType(name);
    if (type && typeof value === 'string') out.push({ type, value, property: `hashes.${name}` });
  }
}

/**
 * The indicator values of one cyber-observable object: addresses (a `/prefix` makes a CIDR), domain,
 * URL and e-mail values, file hashes and names, registry keys, mutex names, AS numbers, X.509 and
 * artifact hashes. Other SCO types (network-traffic, process, directory…) carry none of their own.
 *
 * @example observableValues({ type: 'ipv4-addr', value: '198.51.100.3' }, 'ipv4-addr') // [{ type: 'ipv4', … }]
 */
export function observableValues(obj: StixObject, type: string): ObservableValue[] {
  const out: ObservableValue[] = [];
  switch (type) {
    case 'ipv4-addr':
    case 'ipv6-addr': {
      const v = obj.value;
      if (typeof v === 'string')
        out.push({
          type: v.includes('/') ? 'cidr' : type === 'ipv4-addr' ? 'ipv4' : 'ipv6',
          value: v,
          property: 'value',
        });
      break;
    }
    case 'domain-name':
    case 'url':
    case 'email-addr':
      if (typeof obj.value === 'string')
        out.push({ type: VALUE_TYPES[type] as IndicatorType, value: obj.value, property: 'value' });
      break;
    case 'file':
      addHashes(obj.hashes, out);
      if (typeof obj.name === 'string') out.push({ type: 'filename', value: obj.name, property: 'name' });
      break;
    case 'x509-certificate':
    case 'artifact':
      addHashes(obj.hashes, out);
      break;
    case 'windows-registry-key':
      if (typeof obj.key === 'string') out.push({ type: 'registry-key', value: obj.key, property: 'key' });
      break;
    case 'mutex':
      if (typeof obj.name === 'string') out.push({ type: 'mutex', value: obj.name, property: 'name' });
      break;
    case 'autonomous-system':
      if (typeof obj.number === 'number' || typeof obj.number === 'string')
        out.push({ type: 'asn', value: String(obj.number), property: 'number' });
      break;
    default:
      break;
  }
  return out;
}
