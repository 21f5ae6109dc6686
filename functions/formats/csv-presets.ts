import type { CsvMapping, CsvPresetName } from '../domain/feed-config.ts';

/** A named CSV mapping for a public feed, with how to recognize it and tidy its names. */
export interface CsvPreset {
  description: string;
  /** Where the feed is published (documentation only). */
  url: string;
  mapping: CsvMapping;
  /** Matches the start of a document of this feed, so `--format csv` without a preset still reads it. */
  signature?: RegExp;
  /** Turns a names cell into a malware name, or drops it (undefined). */
  cleanName?: (name: string) => string | undefined;
}

/** Built-in presets by name. A feed config's `csv` block overrides single keys of the preset it names. */
export const CSV_PRESETS: Readonly<Record<CsvPresetName, CsvPreset>> = {
  urlhaus: {
    description: 'URLhaus CSV dump: the url column only (never urlhaus_link); threat and tags as labels',
    url: 'https://urlhaus.abuse.ch/downloads/csv_recent/',
    signature: /^#\s*"?id"?\s*,\s*"?dateadded"?\s*,\s*"?url"?\s*,/m,
    mapping: {
      headerInComment: true,
      columns: [{ column: 'url', type: 'url' }],
      idColumn: 'id',
      firstSeenColumn: 'dateadded',
      lastSeenColumn: 'last_online',
      labelsColumn: ['threat', 'tags'],
      contextColumns: ['url_status', 'urlhaus_link', 'reporter'],
    },
  },
  feodotracker: {
    description: 'Feodo Tracker botnet C2 IP blocklist (ipblocklist.csv): dst_ip, malware as name',
    url: 'https://feodotracker.abuse.ch/downloads/ipblocklist.csv',
    signature: /^"?first_seen_utc"?\s*,\s*"?dst_ip"?\s*,/m,
    mapping: {
      columns: [{ column: 'dst_ip', type: 'ipv4' }],
      firstSeenColumn: 'first_seen_utc',
      lastSeenColumn: 'last_online',
      namesColumn: 'malware',
      contextColumns: ['dst_port', 'c2_status'],
    },
  },
  threatfox: {
    description: 'ThreatFox CSV export: ioc_value typed by ioc_type; malware_printable as name',
    url: 'https://threatfox.abuse.ch/export/csv/recent/',
    signature: /^#\s*"?first_seen_utc"?\s*,\s*"?ioc_id"?\s*,/m,
    mapping: {
      headerInComment: true,
      typeColumn: 'ioc_type',
      valueColumn: 'ioc_value',
      typeMap: {
        'ip:port': 'ipv4',
        domain: 'domain',
        url: 'url',
        md5_hash: 'md5',
        sha1_hash: 'sha1',
        sha256_hash: 'sha256',
        sha512_hash: 'sha512',
      },
      idColumn: 'ioc_id',
      firstSeenColumn: 'first_seen_utc',
      lastSeenColumn: 'last_seen_utc',
      namesColumn: 'malware_printable',
      labelsColumn: ['threat_type', 'tags'],
      confidenceColumn: 'confidence_level',
      contextColumns: ['fk_malware', 'malware_alias', 'reference', 'reporter'],
    },
    cleanName: (name) => (/^unknown\b/i.test(name) ? undefined : name),
  },
  sslbl: {
    description: 'SSLBL SSL certificate blacklist (SHA1) and JA3 fingerprint blacklist (ja3_md5)',
    url: 'https://sslbl.abuse.ch/blacklist/sslblacklist.csv',
    signature: /^#\s*(?:Listingdate\s*,\s*SHA1|ja3_md5\s*,\s*Firstseen)\b/im,
    mapping: {
      headerInComment: true,
      columns: [
        { column: 'SHA1', type: 'sha1' },
        { column: 'ja3_md5', type: 'ja3' },
      ],
      firstSeenColumn: ['Listingdate', 'Firstseen'],
      lastSeenColumn: 'Lastseen',
      namesColumn: 'Listingreason',
    },
    // "Dridex C&C", "AsyncRAT malware distribution" → the malware name.
    cleanName: (name) =>
      name.replace(/\s+(?:C&C|C2|botnet C&C|malware distribution|SSL certificate)$/i, '').trim() || undefined,
  },
  plain: {
    description:
      'one value per line, any type detected; #/; comments and trailing "; comment" (Spamhaus DROP, DShield, OpenPhish)',
    url: 'https://www.spamhaus.org/drop/drop.txt',
    // The banners of the lists this reads: their comment lines are not data (read as text, the banner's own
    // links and names would become indicators).
    signature: /^;\s*Spamhaus (?:E?DROP|DROPv6)\b|^#\s*SANS ISC Suspicious Domain List/im,
    mapping: { mode: 'lines' },
  },
};

/**
 * The preset whose signature the start of a document matches, if any.
 *
 * @example sniffCsvPreset('"first_seen_utc","dst_ip","dst_port"') // 'feodotracker'
 */
export function sniffCsvPreset(head: string): CsvPresetName | undefined {
  for (const [name, preset] of Object.entries(CSV_PRESETS) as [CsvPresetName, CsvPreset][]) {
    if (preset.signature?.test(head)) return name;
  }
  return undefined;
}
