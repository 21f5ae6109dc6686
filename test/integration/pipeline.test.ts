import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { httpFeedTransport, pullMispFeed } from '../../functions/connectors/misp.ts';
import { pull, TaxiiClient } from '../../functions/connectors/taxii21.ts';
import type { Format } from '../../functions/domain/indicator.ts';
import { supportedFormats } from '../../functions/formats/index.ts';
import { CONTENT_TYPES } from '../../lib/local/content-types.ts';
import { conserved } from '../../lib/local/summary.ts';
import { readBack } from '../helpers/read-back.ts';
import { ipv4Bundle } from './bundles.ts';
import { pipelineClient } from './pipeline-client.ts';

const client = pipelineClient();
afterAll(() => client.close());

const read = (path: string): Buffer => readFileSync(new URL(`../../${path}`, import.meta.url));

interface Case {
  file: string;
  format: Format;
  /** Indicators the document certainly yields (public, non-benign values). */
  expected: { type: string; value: string }[];
  /** Records known to be invalid, which must be quarantined with a reason. */
  minQuarantined: number;
}

/** One document per format: the bundled samples and real feed files from the corpus (test/fixtures/feeds). */
const CASES: Case[] = [
  {
    file: 'samples/stix-bundle.json',
    format: 'stix',
    expected: [
      { type: 'ipv4', value: '185.220.101.47' },
      { type: 'domain', value: 'cdn.silverloader-update.net' },
      { type: 'url', value: 'http://cdn.silverloader-update.net/p/stage2.bin' },
      { type: 'sha256', value: '4c1a8b2e3d5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9' },
    ],
    minQuarantined: 1,
  },
  {
    file: 'samples/misp-event.json',
    format: 'misp',
    expected: [
      { type: 'domain', value: 'login-micros0ft.com' },
      { type: 'ipv4', value: '45.142.212.100' },
      { type: 'email', value: 'invoices@accounts-billing.com' },
      { type: 'sha1', value: '2fd4e1c67a2d28fced849ee1bb76e7391b93eb12' },
    ],
    minQuarantined: 1,
  },
  {
    file: 'test/fixtures/feeds/stix/stix21/oasis-schemas--indicators-for-C2-with-COA.json',
    format: 'stix',
    expected: [{ type: 'sha256', value: 'ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c' }],
    minQuarantined: 0,
  },
  {
    file: 'test/fixtures/feeds/misp/eset--sednit-2019-05-23_Zebrocy.json',
    format: 'misp',
    expected: [
      { type: 'sha1', value: '48f8b152b86bed027b9152725505fbf4a24a39fd' },
      { type: 'url', value: 'http://45.124.132.127/DOVIDNIK%20-%20(2018).zip' },
    ],
    minQuarantined: 0,
  },
  {
    file: 'samples/incident-report.txt',
    format: 'text',
    expected: [
      { type: 'ipv4', value: '45.142.212.100' },
      { type: 'md5', value: '9e107d9d372bb6826bd81d3542a419d6' },
      { type: 'cve', value: 'CVE-2023-23397' },
    ],
    minQuarantined: 0,
  },
  {
    file: 'test/fixtures/feeds/csv/abusech-feodotracker-ipblocklist-2024.csv',
    format: 'csv',
    expected: [
      { type: 'ipv4', value: '192.9.135.73' },
      { type: 'ipv4', value: '85.239.243.155' },
    ],
    minQuarantined: 0,
  },
  {
    file: 'samples/indicators.json',
    format: 'json',
    expected: [
      { type: 'ipv4', value: '91.92.241.115' },
      { type: 'domain', value: 'update-check.kozow.com' },
    ],
    minQuarantined: 1,
  },
  {
    file: 'samples/indicators.xml',
    format: 'xml',
    expected: [
      { type: 'ipv4', value: '194.233.91.144' },
      { type: 'cve', value: 'CVE-2023-36884' },
    ],
    minQuarantined: 1,
  },
  {
    file: 'test/fixtures/feeds/rss/security-blog.rss',
    format: 'rss',
    expected: [{ type: 'ipv4', value: '91.215.85.19' }],
    minQuarantined: 0,
  },
];

const supported = new Set(supportedFormats());
const RUNNABLE = CASES.filter((c) => supported.has(c.format));
/** Document ids of the first push of each case, by file. */
const firstPush = new Map<string, string>();

describe('the local pipeline, end to end through its HTTP API', () => {
  it('ingests one document of every supported format and serves its indicators', async () => {
    // Prepare
    expect(RUNNABLE.length).toBeGreaterThanOrEqual(5);
    // Act
    for (const c of RUNNABLE)
      firstPush.set(c.file, await client.push(`it-${c.format}`, CONTENT_TYPES[c.format], read(c.file)));
    const statuses = await client.settled([...firstPush.values()]);
    // Assess
    for (const c of RUNNABLE) {
      const status = statuses.get(firstPush.get(c.file) ?? '');
      expect(status?.status, c.file).toBe('complete');
      expect(status?.counts.records, c.file).toBeGreaterThan(0);
      expect(status?.counts.loaded, c.file).toBeGreaterThanOrEqual(c.expected.length);
      for (const { type, value } of c.expected) {
        const values = (await client.indicators(type)).map((i) => i.value);
        expect(values, `${c.file}: ${type} ${value}`).toContain(value);
      }
    }
  });

  it('keeps every record of every document accounted for (conservation)', async () => {
    // Act
    const statuses = await client.settled([...firstPush.values()]);
    // Assess
    expect(statuses.size).toBe(RUNNABLE.length);
    for (const status of statuses.values()) expect(conserved(status.counts), status.documentId).toBe(true);
  });

  it('puts invalid objects in Quarantine with a reason', async () => {
    for (const c of RUNNABLE.filter((x) => x.minQuarantined > 0)) {
      // Act
      const items = await client.quarantined(firstPush.get(c.file) ?? '');
      // Assess
      expect(items.length, c.file).toBeGreaterThanOrEqual(c.minQuarantined);
      for (const item of items) expect(String(item['reason'] ?? ''), c.file).not.toBe('');
    }
  });

  it('counts a second push of the same document as duplicates, and loses no source', async () => {
    // Prepare
    const c = RUNNABLE[0] as Case;
    const first = (await client.settled([firstPush.get(c.file) ?? ''])).values().next().value;
    // Act
    const again = await client.push(`it-${c.format}`, CONTENT_TYPES[c.format], read(c.file));
    const second = (await client.settled([again])).get(again);
    // Assess
    expect(second?.counts.records).toBe(first?.counts.records);
    expect(second?.counts.duplicates).toBe(first?.counts.loaded);
    expect(second?.counts.loaded).toBe(0);
    expect(second && conserved(second.counts)).toBe(true);
  });

  it('records a second feed as another source of an indicator it already holds', async () => {
    // Prepare
    const c = RUNNABLE[0] as Case;
    const { type, value } = c.expected[0] as { type: string; value: string };
    // Act
    const id = await client.push('it-second-source', CONTENT_TYPES[c.format], read(c.file));
    await client.settled([id]);
    // Assess
    const indicator = (await client.indicators(type)).find((i) => i.value === value);
    expect(JSON.stringify(indicator?.sources)).toContain('it-second-source');
    expect(JSON.stringify(indicator?.sources)).toContain(`it-${c.format}`);
  });
});

describe('looking up what was loaded, through the HTTP API', () => {
  it("finds values given defanged, URLs with their slashes encoded or not, and shows Feodo Tracker's own dates", async () => {
    // Prepare
    const feodo = await client.push(
      'it-lookup-feodo',
      CONTENT_TYPES.csv,
      read('test/fixtures/feeds/csv/abusech-feodotracker-ipblocklist-2024.csv'),
    );
    const report = await client.push(
      'it-lookup-report',
      CONTENT_TYPES.text,
      Buffer.from('The loader beacons to hxxp://update.lookup-check[.]net/gate.php every 5 minutes.\n'),
    );
    await client.settled([feodo, report]);
    const url = 'hxxp://update.lookup-check[.]net/gate.php';
    // Act
    const ip = await client.get('/indicators/ipv4/192.9.135[.]73');
    const encoded = await client.get(`/indicators/url/${encodeURIComponent(url)}`);
    const plain = await client.get(`/indicators/url/${url}`);
    const batch = await client.get(
      `/indicators?${new URLSearchParams([
        ['value', '85.239.243[.]155'],
        ['value', url],
        ['value', 'not-loaded.example.net'],
      ])}`,
    );
    // Assess
    expect(ip.status).toBe(200);
    expect(await ip.json()).toMatchObject({
      value: '192.9.135.73',
      firstSeen: '2023-05-23T17:51:44.000Z',
      lastSeen: '2024-04-01T00:00:00.000Z',
      lastReceived: expect.stringMatching(new RegExp(`^${new Date().toISOString().slice(0, 10)}`)),
    });
    for (const res of [encoded, plain]) {
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({
        type: 'url',
        value: 'http://update.lookup-check.net/gate.php',
      });
    }
    expect(batch.status).toBe(200);
    const body = (await batch.json()) as { indicators: { value: string }[]; notFound: string[] };
    expect(body.indicators.map((i) => i.value).sort()).toEqual([
      '85.239.243.155',
      'http://update.lookup-check.net/gate.php',
    ]);
    expect(body.notFound).toEqual(['not-loaded.example.net']);
  });
});

describe('exports, through the HTTP API', () => {
  it('serves a blocklist with an ETag (304 when unchanged), and a MISP feed this project’s own MISP connector pulls', async () => {
    // Prepare
    const feodo = await client.push(
      'it-export-feodo',
      CONTENT_TYPES.csv,
      read('test/fixtures/feeds/csv/abusech-feodotracker-ipblocklist-2024.csv'),
    );
    const loaded = (await client.settled([feodo])).get(feodo)?.counts.loaded ?? 0;
    // Act
    const list = await client.get('/exports/text?type=ipv4&feedId=it-export-feodo');
    const etag = list.headers.get('etag') ?? '';
    const again = await fetch(`${client.url}/exports/text?type=ipv4&feedId=it-export-feodo`, {
      headers: { 'x-api-key': client.apiKey, 'if-none-match': etag },
    });
    const events: { uuid: string; body: Uint8Array }[] = [];
    await pullMispFeed({
      transport: httpFeedTransport(`${client.url}/exports/misp/`, {
        headers: { 'x-api-key': client.apiKey },
      }),
      onEvent: async (event) => {
        events.push(event);
      },
    });
    // Assess
    expect(list.status).toBe(200);
    const values = (await list.text()).trimEnd().split('\n');
    expect(values).toHaveLength(loaded);
    expect(values).toContain('192.9.135.73');
    expect(again.status).toBe(304);
    const fromFeed = events.find((e) => new TextDecoder().decode(e.body).includes('it-export-feodo'));
    const parsedBack = readBack(fromFeed?.body ?? new Uint8Array(), 'misp-feed').values;
    expect(parsedBack.sort()).toEqual(values.map((v) => `ipv4:${v}`).sort());
  });
});

describe('the TAXII 2.1 server, through the HTTP API', () => {
  it('gives this project’s own TAXII pull exactly the indicators that were loaded from a feed (a round trip)', async () => {
    // Prepare
    const id = await client.push(
      'it-taxii-round-trip',
      'application/stix+json',
      read('samples/stix-bundle.json'),
    );
    await client.settled([id]);
    const loaded = (await client
      .get('/indicators?feedId=it-taxii-round-trip&limit=1000')
      .then((r) => r.json())) as {
      indicators: { type: string; value: string }[];
    };
    const taxiiClient = new TaxiiClient({ auth: { kind: 'bearer', token: client.apiKey } });
    // Act
    const discovery = await taxiiClient.discover(`${client.url}/taxii2/`);
    const apiRoot = new URL(discovery.api_roots?.[0] ?? '', `${client.url}/taxii2/`).href;
    const collection = (await taxiiClient.collections(apiRoot)).find(
      (c) => c.title === 'Feed it-taxii-round-trip',
    );
    const objects: unknown[] = [];
    const summary = await pull(
      taxiiClient,
      { apiRoot, collectionId: collection?.id ?? '', limit: 3 },
      { onPage: async (page) => void objects.push(...page) },
    );
    // Assess
    expect(summary.pages).toBeGreaterThan(1);
    const pulled = readBack({ stixObjects: objects }, 'stix').values;
    const servable = loaded.indicators.filter((i) => !['cve', 'ja3', 'user-agent'].includes(i.type));
    expect(servable.length).toBeGreaterThan(3);
    expect(pulled.sort()).toEqual(servable.map((i) => `${i.type}:${i.value}`).sort());
  });
});

describe('characters a queue refuses', () => {
  it('carries U+FFFE, U+FFFF and emoji in labels and names through every queue: the document completes, nothing lost', async () => {
    // Prepare: 21 indicators; one carries U+FFFF and U+FFFE in a label, one an emoji in another.
    const bundle = ipv4Bundle(
      '45.77.201',
      0xfffe0000,
      [{ labels: ['mutex-\uFFFF-\uFFFE'] }, { labels: ['ransomware-🔥-drop'] }],
      21,
    );
    // Act
    const id = await client.push(
      'it-poison-chars',
      'application/stix+json',
      Buffer.from(JSON.stringify(bundle)),
    );
    const status = (await client.settled([id])).get(id);
    // Assess
    expect(status?.counts).toMatchObject({ records: 21, loaded: 21, failed: 0 });
    const stored = await client.indicators('ipv4');
    const byValue = new Map(stored.map((i) => [i.value, i as Record<string, unknown>]));
    expect(byValue.get('45.77.201.1')?.['labels']).toEqual(['mutex-\uFFFF-\uFFFE']);
    expect(byValue.get('45.77.201.2')?.['labels']).toEqual(['ransomware-🔥-drop']);
    expect(stored.filter((i) => i.value.startsWith('45.77.201.')).length).toBeGreaterThanOrEqual(21);
  });
});

describe('one record too large for a queue message', () => {
  it('is quarantined alone with the reason; its 20 neighbours load and the document completes', async () => {
    // Prepare: one indicator with a 300 KB label (no queue message holds it), twenty ordinary ones.
    const bundle = ipv4Bundle('45.77.202', 0xb16b0000, [{ labels: ['x'.repeat(300 * 1024)] }], 21);
    // Act
    const id = await client.push('it-oversize', 'application/stix+json', Buffer.from(JSON.stringify(bundle)));
    const status = (await client.settled([id])).get(id);
    // Assess
    expect(status?.counts).toMatchObject({ records: 21, loaded: 20, quarantined: 1, failed: 0 });
    const one = await client.get(`/status/pipelines/${id}`);
    expect(one.status).toBe(200);
    expect(await one.json()).toMatchObject({
      documentId: id,
      status: 'complete',
      stages: { extract: { records: 21, indicators: 20, quarantined: 1 } },
      failures: [],
    });
    const quarantined = await client.quarantined(id);
    expect(quarantined).toHaveLength(1);
    // The same, as an operator reviews it through the API.
    const listed = await client.get(`/quarantine?documentId=${id}`);
    expect(listed.status).toBe(200);
    expect(((await listed.json()) as { records: unknown[] }).records).toEqual([
      expect.objectContaining({ value: '45.77.202.1', stage: 'extract' }),
    ]);
    expect(quarantined[0]).toMatchObject({
      value: '45.77.202.1',
      reason: expect.stringMatching(/^record too large for a queue message: \d+ bytes/),
    });
  });
});

describe('refused requests write nothing', () => {
  const body = Buffer.from('C2 at 45.142.212[.]100\n');

  it.each([
    ['no API key', 401, (): Record<string, string> => ({ 'content-type': 'text/plain' })],
    ['a wrong API key', 403, () => ({ 'content-type': 'text/plain', 'x-api-key': 'not-the-key' })],
    [
      'an unknown content type',
      415,
      () => ({ 'content-type': 'application/x-unknown', 'x-api-key': client.apiKey }),
    ],
  ])('answers %s with %i', async (_, status, headers) => {
    // Prepare
    const before = await client.footprint();
    // Act
    const response = await client.post('it-refused', { headers: headers(), body });
    // Assess
    expect(response.status).toBe(status);
    expect(await response.json()).toHaveProperty('error');
    expect(await client.footprint()).toEqual(before);
  });

  it('answers 11 MiB with 413', async () => {
    // Prepare
    const before = await client.footprint();
    // Act
    const response = await client.post('it-refused', {
      headers: { 'content-type': 'text/plain', 'x-api-key': client.apiKey },
      body: Buffer.alloc(11 * 1024 * 1024, 0x61),
    });
    // Assess
    expect(response.status).toBe(413);
    expect(await client.footprint()).toEqual(before);
  });

  it('answers an unknown route with 404 JSON', async () => {
    // Act
    const response = await client.get('/nowhere');
    // Assess
    expect(response.status).toBe(404);
    expect(await response.json()).toHaveProperty('error');
  });

  it('serves /health without a key, with every dependency ok', async () => {
    // Act
    const response = await client.get('/health', undefined);
    // Assess: every dependency of the deployed template answers, the stream, queues and bucket included.
    expect(response.status).toBe(200);
    const body = (await response.json()) as { status: string; dependencies: Record<string, string> };
    expect(body.status).toBe('ok');
    expect(Object.keys(body.dependencies).sort()).toEqual(
      expect.arrayContaining([
        'dedupQueue',
        'loadQueue',
        'rawArchiveBucket',
        'rawDocumentsStream',
        'validateQueue',
      ]),
    );
  });
});
