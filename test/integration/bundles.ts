/** A STIX 2.1 bundle of IPv4 indicators `<prefix>.1`, `<prefix>.2`, … with per-indicator extras. */
export function ipv4Bundle(prefix: string, idBase: number, extras: Record<string, unknown>[], count: number) {
  const indicator = (i: number) => ({
    type: 'indicator',
    spec_version: '2.1',
    id: `indicator--00000000-0000-4000-8000-${(idBase + i).toString(16).padStart(12, '0')}`,
    created: '2026-01-01T00:00:00.000Z',
    modified: '2026-01-01T00:00:00.000Z',
    pattern: `[ipv4-addr:value = '${prefix}.${i}']`,
    pattern_type: 'stix',
    valid_from: '2026-01-01T00:00:00Z',
    ...extras[i - 1],
  });
  return {
    type: 'bundle',
    id: `bundle--0d6b0a2e-0000-4000-8000-${idBase.toString(16).padStart(12, '0')}`,
    objects: Array.from({ length: count }, (_, k) => indicator(k + 1)),
  };
}
