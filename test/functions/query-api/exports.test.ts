/**
 * GET /exports/{format} and the MISP feed on dynalite: blocklists hold exactly the active values the
 * caller may see; the STIX bundle and the MISP feed read back through this project's own parsers give
 * the same indicators; an unchanged export answers 304 to its ETag.
 */
import { parse as parseCsv } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Caller } from '../../../functions/domain/access.ts';
import type { Indicator, IndicatorType } from '../../../functions/domain/indicator.ts';
import { type Lifecycle, NO_LIFECYCLE } from '../../../functions/domain/lifecycle.ts';
import { createQueryApiHandler } from '../../../functions/query-api/query-api.ts';
import { readBack } from '../../helpers/read-back.ts';
import { startTestAws, type TestAws } from '../support/emulators.ts';
import { apiEvent, context } from '../support/events.ts';
import { stageDeps } from '../support/pipeline.ts';
import { indicatorStore, report } from '../support/stored-indicators.ts';

const OPERATOR: Caller = { keyId: 'operator', role: 'operator', tlp: 'red', feeds: [] };
const GREEN: Caller = { keyId: 'green', role: 'reader', tlp: 'green', feeds: [] };
const NOW = new Date('2026-12-04T12:00:00.000Z');
const RECEIVED = '2026-12-03T08:00:00.000Z';

let aws: TestAws;

/** One value of every type, with the context an export must carry. */
const VALUES: Record<IndicatorType, string> = {
  ipv4: '192.9.135.73',
  ipv6: '2001:db8:85a3::8a2e:370:7334',
  cidr: '203.0.113.0/24',
  domain: 'update.lookup-check.net',
  url: 'http://update.lookup-check.net/gate.php?id=1',
  email: 'invoices@accounts-billing.com',
  md5: '9e107d9d372bb6826bd81d3542a419d6',
  sha1: '2fd4e1c67a2d28fced849ee1bb76e7391b93eb12',
  sha256: 'ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c',
  sha512:
    'cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e',
  ssdeep: '96:s4Ud1Lj96tHHlZDrwciQmA+4uy1I0G4HYuL8N3TzS8QsO/wqWXLcMSx:sF1LjEtHHlZDrJzrhuyZvHYm8tKp/RWO',
  filename: 'invoice_2026.pdf.exe',
  asn: 'AS64500',
  cve: 'CVE-2023-23397',
  ja3: 'e7d705a3286e19ea42f587b344ee6865',
  mutex: 'Global\\SilverLoader-7f3a',
  'registry-key': 'HKEY_LOCAL_MACHINE\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\updater',
  'user-agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) SilverLoader/2.1',
};

beforeAll(async () => {
  aws = await startTestAws();
  const { put } = indicatorStore(aws);
  for (const [type, value] of Object.entries(VALUES) as [IndicatorType, string][])
    await put(
      report(
        {
          type,
          value,
          tlp: type === 'sha1' ? 'amber' : 'green',
          confidence: 70,
          names: type === 'ipv4' ? ['Pikabot'] : [],
          labels: ['botnet_cc'],
          firstSeen: '2024-02-08T19:20:49.000Z',
          lastSeen: '2024-04-01T00:00:00.000Z',
          validUntil: '2027-06-01T00:00:00.000Z',
        },
        'feodo',
        RECEIVED,
      ),
    );
  await put(
    report({ type: 'ipv4', value: '85.239.243.155', tlp: 'clear' }, 'feodo', RECEIVED),
    report({ type: 'ipv4', value: '45.142.212.100', tlp: 'red', confidence: 95 }, 'partner', RECEIVED),
    report(
      { type: 'ipv4', value: '37.60.242.85', tlp: 'clear', validUntil: '2026-12-01T00:00:00.000Z' },
      'feodo',
      '2026-11-20T08:00:00.000Z',
    ),
    report({ type: 'ipv4', value: '178.18.246.136', tlp: 'clear', revoked: true }, 'feodo', RECEIVED),
    report({ type: 'url', value: 'https://cdn.silverloader-update.net/p/stage2.bin' }, 'urlhaus', RECEIVED),
  );
});
afterAll(async () => aws?.stop());

async function get(
  caller: Caller,
  resource: string,
  pathParameters: Record<string, string>,
  query: Record<string, string> = {},
  headers: Record<string, string> = {},
  lifecycle: Lifecycle = NO_LIFECYCLE,
) {
  const res = await createQueryApiHandler({ ...stageDeps(aws).query, now: () => NOW, lifecycle })(
    apiEvent({ resource, pathParameters, query, caller, headers }),
    context,
  );
  return { status: res.statusCode, headers: res.headers ?? {}, body: res.body };
}
const exportOf = (caller: Caller, format: string, query: Record<string, string> = {}) =>
  get(caller, '/exports/{format}', { format }, query);
const mispFile = (caller: Caller, file: string) => get(caller, '/exports/misp/{file}', { file });

/** What a round trip must keep of an indicator. */
const essence = (i: Pick<Indicator, 'type' | 'value' | 'tlp' | 'labels' | 'names'>) => ({
  type: i.type,
  value: i.value,
  tlp: i.tlp ?? null,
  labels: [...i.labels].sort(),
  names: [...i.names].sort(),
});
const parsed = (body: string, format: 'stix' | 'misp-feed') => {
  const { events, quarantined } = readBack(Buffer.from(body), format);
  return { indicators: events.flatMap((e) => (e.kind === 'indicator' ? [e.indicator] : [])), quarantined };
};

describe('GET /exports/text and /exports/edl', () => {
  it('lists one value per line: the active values of the type the caller may see, nothing expired or revoked', async () => {
    // Act
    const green = await exportOf(GREEN, 'text', { type: 'ipv4' });
    const operator = await exportOf(OPERATOR, 'text', { type: 'ipv4' });
    // Assess
    expect(green.status).toBe(200);
    expect(green.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(green.body).toBe('192.9.135.73\n85.239.243.155\n');
    expect(operator.body).toBe('192.9.135.73\n45.142.212.100\n85.239.243.155\n');
  });

  it('keeps only what the filters keep', async () => {
    expect((await exportOf(GREEN, 'text', { type: 'ipv4', minConfidence: '50' })).body).toBe(
      '192.9.135.73\n',
    );
    expect((await exportOf(GREEN, 'text', { type: 'ipv4', tlp: 'clear' })).body).toBe('85.239.243.155\n');
    expect((await exportOf(OPERATOR, 'text', { type: 'url', feedId: 'urlhaus' })).body).toBe(
      'https://cdn.silverloader-update.net/p/stage2.bin\n',
    );
    // Unmarked counts as amber: not on a green reader's list.
    expect((await exportOf(GREEN, 'text', { type: 'url', feedId: 'urlhaus' })).body).toBe('');
  });

  it('refuses a text export without a type, and a type an EDL cannot hold, naming why', async () => {
    expect(await exportOf(GREEN, 'text')).toMatchObject({ status: 400 });
    expect(JSON.parse((await exportOf(GREEN, 'edl', { type: 'md5' })).body)).toEqual({
      error: 'type: an EDL holds url, domain, ipv4, ipv6, cidr',
    });
    expect((await exportOf(GREEN, 'pdf')).status).toBe(404);
  });

  it('gives an EDL of URLs without their scheme by default', async () => {
    // Act
    const { status, body } = await exportOf(OPERATOR, 'edl');
    // Assess
    expect(status).toBe(200);
    expect(body).toBe('update.lookup-check.net/gate.php?id=1\ncdn.silverloader-update.net/p/stage2.bin\n');
  });

  it('answers 304 with no body to the ETag of an unchanged export, and 200 when it changed', async () => {
    // Prepare
    const first = await exportOf(GREEN, 'text', { type: 'ipv4' });
    const etag = String(first.headers.etag);
    // Act
    const again = await get(
      GREEN,
      '/exports/{format}',
      { format: 'text' },
      { type: 'ipv4' },
      { 'If-None-Match': etag },
    );
    const other = await get(
      GREEN,
      '/exports/{format}',
      { format: 'text' },
      { type: 'domain' },
      { 'If-None-Match': etag },
    );
    // Assess
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{43}"$/);
    expect(again).toMatchObject({ status: 304, body: '' });
    expect(again.headers.etag).toBe(etag);
    expect(other.status).toBe(200);
  });
});

describe('GET /exports/…?changes_since= (deltas)', () => {
  it('gives + for a value received since, - for one revoked since or expired since, and nothing for one expired before', async () => {
    // Act
    const sinceYesterday = await exportOf(OPERATOR, 'text', { type: 'ipv4', changes_since: '2026-12-02' });
    const sinceLastWeek = await exportOf(OPERATOR, 'text', {
      type: 'ipv4',
      changes_since: '2026-11-25T00:00:00Z',
    });
    // Assess
    expect(sinceYesterday.body).toBe('-178.18.246.136\n+192.9.135.73\n+45.142.212.100\n+85.239.243.155\n');
    // 37.60.242.85 expired on 2026-12-01: after last week, so it comes off the list of a client from then.
    expect(sinceLastWeek.body).toBe(
      '-178.18.246.136\n+192.9.135.73\n-37.60.242.85\n+45.142.212.100\n+85.239.243.155\n',
    );
  });

  it('marks removals as revoked versions in a STIX delta, and in a change column of a CSV delta', async () => {
    // Act
    const stix = JSON.parse(
      (await exportOf(OPERATOR, 'stix', { type: 'ipv4', changes_since: '2026-11-25' })).body,
    ) as {
      objects: Record<string, unknown>[];
    };
    const csv = parseCsv(
      (await exportOf(OPERATOR, 'csv', { type: 'ipv4', changes_since: '2026-11-25' })).body,
      {
        columns: true,
      },
    ) as Record<string, string>[];
    // Assess
    const revoked = stix.objects
      .filter((o) => o.type === 'indicator' && o.revoked === true)
      .map((o) => [o.pattern, o.modified]);
    expect(revoked).toEqual([
      ["[ipv4-addr:value = '178.18.246.136']", RECEIVED],
      // An expiry is a version newer than the last one received: at its validUntil.
      ["[ipv4-addr:value = '37.60.242.85']", '2026-12-01T00:00:00.000Z'],
    ]);
    expect(csv.map((r) => `${r.change} ${r.value}`)).toEqual([
      'remove 178.18.246.136',
      'add 192.9.135.73',
      'remove 37.60.242.85',
      'add 45.142.212.100',
      'add 85.239.243.155',
    ]);
  });

  it('refuses a delta of the MISP feed, and changes_since with since', async () => {
    expect(
      (
        await get(
          OPERATOR,
          '/exports/misp/{file}',
          { file: 'manifest.json' },
          { changes_since: '2026-11-25' },
        )
      ).status,
    ).toBe(400);
    expect(
      (await exportOf(OPERATOR, 'text', { type: 'ipv4', changes_since: '2026-11-25', since: '2026-11-01' }))
        .status,
    ).toBe(400);
  });
});

describe('with the profile’s lifecycle (ipv4: 30 days without a sighting, confidence decaying over 60)', () => {
  const AGEING: Lifecycle = { maxAgeDays: { ipv4: 30 }, decayDays: { ipv4: 60 } };
  const aged = (query: Record<string, string>) =>
    get(OPERATOR, '/exports/{format}', { format: 'text' }, { type: 'ipv4', ...query }, {}, AGEING);
  beforeAll(async () => {
    // A Feodo Tracker row last online in March 2024, pulled again yesterday, with no validUntil of its own.
    await indicatorStore(aws).put(
      report(
        {
          type: 'ipv4',
          value: '162.243.103.246',
          tlp: 'red',
          lastSeen: '2024-03-18T00:00:00.000Z',
          confidence: 75,
        },
        'feodo',
        RECEIVED,
      ),
    );
  });

  it('leaves out an IP the source last saw in 2024 however recently it was pulled, and lists it as removed', async () => {
    // Act
    const list = await aged({});
    const delta = await aged({ changes_since: '2026-12-02' });
    // Assess
    // 192.9.135.73 was also last seen in 2024, but its source says it is valid until 2027: that wins.
    expect(list.body).toBe('192.9.135.73\n45.142.212.100\n85.239.243.155\n');
    expect(delta.body).toBe(
      '-162.243.103.246\n-178.18.246.136\n+192.9.135.73\n+45.142.212.100\n+85.239.243.155\n',
    );
    // Without ageing, it is on the list.
    expect((await exportOf(OPERATOR, 'text', { type: 'ipv4' })).body).toContain('162.243.103.246\n');
  });

  it('shows the decayed confidence beside the source’s own, which stays as it was', async () => {
    // Act
    const res = await get(
      OPERATOR,
      '/indicators/{type}/{value+}',
      { type: 'ipv4', value: '45.142.212.100' },
      {},
      {},
      AGEING,
    );
    // Assess: received a day before NOW, so 1/60 of 95 lost.
    expect(JSON.parse(res.body)).toMatchObject({
      confidence: 95,
      currentConfidence: 93,
      expiresAt: '2027-01-02T08:00:00.000Z',
    });
  });
});

describe('a value that ages out between two polls', () => {
  it('is a removal in the delta since the earlier poll, though nothing was received since', async () => {
    // Prepare: last seen 2026-11-03, so with 30 days for ipv4 it expires 2026-12-03; last received 2026-11-20.
    await indicatorStore(aws).put(
      report(
        { type: 'ipv4', value: '162.243.103.247', tlp: 'red', lastSeen: '2026-11-03T00:00:00.000Z' },
        'aged-feed',
        '2026-11-20T00:00:00.000Z',
      ),
    );
    const ageing: Lifecycle = { maxAgeDays: { ipv4: 30 }, decayDays: {} };
    // Act
    const delta = await get(
      OPERATOR,
      '/exports/{format}',
      { format: 'text' },
      { type: 'ipv4', feedId: 'aged-feed', changes_since: '2026-12-02' },
      {},
      ageing,
    );
    // Assess
    expect(delta.body).toBe('-162.243.103.247\n');
  });
});

describe('GET /exports/csv', () => {
  it('has a header and one row per value, read back by a CSV parser to the same values', async () => {
    // Act
    const { status, headers, body } = await exportOf(GREEN, 'csv', { type: 'ipv4' });
    // Assess
    expect(status).toBe(200);
    expect(headers['content-type']).toBe('text/csv; charset=utf-8');
    const rows = parseCsv(body, { columns: true }) as Record<string, string>[];
    expect(
      rows.map((r) => [r.value, r.tlp, r.confidence, r.lastSeen, r.lastReceived, r.feeds, r.names]),
    ).toEqual([
      ['192.9.135.73', 'green', '70', '2024-04-01T00:00:00.000Z', RECEIVED, 'feodo', 'Pikabot'],
      ['85.239.243.155', 'clear', '', '', RECEIVED, 'feodo', ''],
    ]);
  });
});

describe('GET /exports/stix', () => {
  it('is a STIX 2.1 bundle our STIX parser reads back to the same indicators, with nothing quarantined', async () => {
    // Act
    const { status, headers, body } = await exportOf(OPERATOR, 'stix');
    // Assess
    expect(status).toBe(200);
    expect(headers['content-type']).toBe('application/stix+json;version=2.1');
    // cve, ja3 and user-agent have no STIX pattern path: left out and counted.
    expect(headers['x-export-omitted']).toBe('3');
    const back = parsed(body, 'stix');
    expect(back.quarantined).toEqual([]);
    const listed = JSON.parse(
      (await get(OPERATOR, '/indicators', {}, { active: 'true', limit: '100' })).body,
    ) as {
      indicators: (Indicator & { confidence: number | null; validUntil: string | null })[];
    };
    const expected = listed.indicators.filter((i) => !['cve', 'ja3', 'user-agent'].includes(i.type));
    const key = (i: { type: string; value: string }) => `${i.type}:${i.value}`;
    const sort = <T extends { type: string; value: string }>(xs: T[]) =>
      [...xs].sort((a, b) => (key(a) < key(b) ? -1 : 1));
    expect(sort(back.indicators).map(essence)).toEqual(sort(expected).map(essence));
    expect(sort(back.indicators).map((i) => [i.confidence ?? null, i.validUntil ?? null])).toEqual(
      sort(expected).map((i) => [i.confidence, i.validUntil]),
    );
  });

  it('marks each indicator with its TLP 2.0 marking and names its creator', async () => {
    // Act
    const bundle = JSON.parse((await exportOf(GREEN, 'stix', { type: 'ipv4' })).body) as {
      objects: Record<string, unknown>[];
    };
    // Assess
    const indicators = bundle.objects.filter((o) => o.type === 'indicator');
    expect(indicators.map((o) => o.pattern).sort()).toEqual([
      "[ipv4-addr:value = '192.9.135.73']",
      "[ipv4-addr:value = '85.239.243.155']",
    ]);
    const identity = bundle.objects.find((o) => o.type === 'identity');
    for (const o of indicators) expect(o.created_by_ref).toBe(identity?.id);
    expect(
      bundle.objects
        .filter((o) => o.type === 'marking-definition')
        .map((o) => o.name)
        .sort(),
    ).toEqual(['TLP:CLEAR', 'TLP:GREEN']);
    expect(bundle.objects.find((o) => o.type === 'malware')).toMatchObject({
      name: 'Pikabot',
      is_family: true,
    });
  });
});

describe('GET /exports/misp/{file}', () => {
  it('serves a MISP feed whose events our misp-feed parser reads back to the same indicators, every type', async () => {
    // Act
    const manifest = await mispFile(GREEN, 'manifest.json');
    const uuids = Object.keys(JSON.parse(manifest.body) as Record<string, unknown>);
    const events = await Promise.all(uuids.map((u) => mispFile(GREEN, `${u}.json`)));
    // Assess
    expect(manifest.status).toBe(200);
    // One event per source feed the reader may see: feodo (urlhaus is unmarked, so amber).
    expect(uuids).toHaveLength(1);
    expect((await mispFile(OPERATOR, 'manifest.json')).body).toContain('indicators from feed urlhaus');
    const back = events.flatMap((e) => {
      expect(e.status).toBe(200);
      const p = parsed(e.body, 'misp-feed');
      expect(p.quarantined).toEqual([]);
      return p.indicators;
    });
    const listed = JSON.parse(
      (await get(GREEN, '/indicators', {}, { active: 'true', limit: '100' })).body,
    ) as {
      indicators: Indicator[];
    };
    const key = (i: { type: string; value: string }) => `${i.type}:${i.value}`;
    const sort = <T extends { type: string; value: string }>(xs: T[]) =>
      [...xs].sort((a, b) => (key(a) < key(b) ? -1 : 1));
    expect(sort(back).map(essence)).toEqual(sort(listed.indicators).map(essence));
    // Every type of the canonical model has a MISP attribute type.
    expect(new Set(back.map((i) => i.type)).size).toBe(Object.keys(VALUES).length - 1); // sha1 is amber: not for green
    const ip = back.find((i) => i.value === '192.9.135.73');
    expect([ip?.firstSeen, ip?.lastSeen]).toEqual(['2024-02-08T19:20:49.000Z', '2024-04-01T00:00:00.000Z']);
  });

  it('answers 404 for a file the manifest does not name', async () => {
    expect((await mispFile(GREEN, '00000000-0000-5000-8000-000000000000.json')).status).toBe(404);
    expect((await mispFile(GREEN, '../manifest.json')).status).toBe(404);
  });
});
