import type { IndicatorType } from '../../domain/indicator.ts';

/**
 * What one part of a MISP value becomes: an indicator of a fixed type, an IP whose kind (IPv4, IPv6,
 * CIDR) is read from its shape, a URI (a URL, or a bare path that is skipped), or a context field.
 */
export type PartTarget =
  | { kind: 'indicator'; type: IndicatorType }
  | { kind: 'ip' }
  | { kind: 'uri' }
  | { kind: 'port' }
  | { kind: 'context'; key: string };

const t = (type: IndicatorType): PartTarget => ({ kind: 'indicator', type });
const IP: PartTarget = { kind: 'ip' };
const PORT: PartTarget = { kind: 'port' };
const ctx = (key: string): PartTarget => ({ kind: 'context', key });

/**
 * MISP attribute type → the targets of its value's parts. A composite type (`filename|md5`) has two
 * parts, split on the first `|`. Kept in step with the README table (docs: readme-misp.md).
 */
export const MISP_TYPE_MAP: Readonly<Record<string, readonly PartTarget[]>> = {
  'ip-src': [IP],
  'ip-dst': [IP],
  'ip-src|port': [IP, PORT],
  'ip-dst|port': [IP, PORT],
  domain: [t('domain')],
  hostname: [t('domain')],
  'domain|ip': [t('domain'), IP],
  'hostname|port': [t('domain'), PORT],
  url: [t('url')],
  uri: [{ kind: 'uri' }],
  email: [t('email')],
  'email-src': [t('email')],
  'email-dst': [t('email')],
  'email-reply-to': [t('email')],
  'whois-registrant-email': [t('email')],
  'dns-soa-email': [t('email')],
  md5: [t('md5')],
  sha1: [t('sha1')],
  sha256: [t('sha256')],
  sha512: [t('sha512')],
  ssdeep: [t('ssdeep')],
  filename: [t('filename')],
  'email-attachment': [t('filename')],
  'filename|md5': [t('filename'), t('md5')],
  'filename|sha1': [t('filename'), t('sha1')],
  'filename|sha256': [t('filename'), t('sha256')],
  'filename|sha512': [t('filename'), t('sha512')],
  'filename|ssdeep': [t('filename'), t('ssdeep')],
  // Digests the canonical model has no type for stay with the file name as context.
  'filename|sha224': [t('filename'), ctx('sha224')],
  'filename|sha384': [t('filename'), ctx('sha384')],
  'filename|sha512/224': [t('filename'), ctx('sha512/224')],
  'filename|sha512/256': [t('filename'), ctx('sha512/256')],
  'filename|sha3-224': [t('filename'), ctx('sha3-224')],
  'filename|sha3-256': [t('filename'), ctx('sha3-256')],
  'filename|sha3-384': [t('filename'), ctx('sha3-384')],
  'filename|sha3-512': [t('filename'), ctx('sha3-512')],
  'filename|imphash': [t('filename'), ctx('imphash')],
  'filename|impfuzzy': [t('filename'), ctx('impfuzzy')],
  'filename|pehash': [t('filename'), ctx('pehash')],
  'filename|tlsh': [t('filename'), ctx('tlsh')],
  'filename|authentihash': [t('filename'), ctx('authentihash')],
  'filename|vhash': [t('filename'), ctx('vhash')],
  'malware-sample': [t('filename'), t('md5')],
  'ja3-fingerprint-md5': [t('ja3')],
  'x509-fingerprint-md5': [t('md5')],
  'x509-fingerprint-sha1': [t('sha1')],
  'x509-fingerprint-sha256': [t('sha256')],
  vulnerability: [t('cve')],
  AS: [t('asn')],
  mutex: [t('mutex')],
  regkey: [t('registry-key')],
  'regkey|value': [t('registry-key'), ctx('registryValue')],
  'user-agent': [t('user-agent')],
};

/** Types that are deliberately not indicators, with why (other unmapped types get a generic reason). */
const NOT_INDICATORS: Readonly<Record<string, string>> = {
  link: 'MISP type "link" is a reference to analysis (a report or sandbox page), not an indicator',
  text: 'MISP type "text" is free text, not an indicator',
  comment: 'MISP type "comment" is a note, not an indicator',
  other: 'MISP type "other" is free-form, not an indicator',
  attachment: 'MISP type "attachment" is a file body, not an indicator',
};

/**
 * The skip reason for a MISP type with no indicator mapping.
 *
 * @example unmappedReason('size-in-bytes') // 'MISP type "size-in-bytes" has no indicator mapping'
 */
export function unmappedReason(mispType: string): string {
  return NOT_INDICATORS[mispType] ?? `MISP type ${JSON.stringify(mispType)} has no indicator mapping`;
}
