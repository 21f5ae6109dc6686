import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import {
  CSV_PRESET_NAMES,
  FeedConfigSchema,
  parseFeedConfig,
  parseFeedConfigFile,
} from '../../functions/domain/feed-config.ts';
import { CSV_PRESETS } from '../../functions/formats/csv-presets.ts';

const minimal = { id: 'abusech-urlhaus', format: 'csv' };

describe('parseFeedConfig', () => {
  it('fills defaults for a minimal push feed', () => {
    // Act
    const parsed = parseFeedConfig(minimal);
    // Assess
    expect(parsed).toEqual({
      ok: true,
      value: {
        id: 'abusech-urlhaus',
        format: 'csv',
        transport: 'push',
        auth: 'none',
        defaults: { labels: [] },
        filters: {
          toIdsFalse: 'lower-confidence',
          toIdsFalseConfidence: 30,
          maxThreatLevelId: 4,
          publishedOnly: false,
        },
        allowPrivateNetwork: false,
        allowLoopback: false,
      },
    });
  });

  it('accepts a full pull feed with every key', () => {
    // Prepare
    const feed = {
      id: 'partner-json',
      name: 'Partner JSON',
      format: 'json',
      transport: 'http',
      url: 'https://intel.example.org/api/v1/indicators.json',
      credentialsSecret: 'cti-ingest/partner',
      auth: 'bearer',
      schedule: 'rate(1 hour)',
      json: { recordPath: 'data[*]', fields: [{ path: 'value', typePath: 'kind' }], typeMap: { ip: 'ipv4' } },
      defaults: { confidence: 70, tlp: 'amber', labels: ['partner'] },
      filters: { types: ['ipv4', 'url'] },
      dedupWindowHours: 48,
      allowPrivateNetwork: false,
      ruleSet: 'strict',
    };
    // Act
    const parsed = parseFeedConfig(feed);
    // Assess
    expect(parsed.ok).toBe(true);
    expect(parsed.ok && parsed.value.json?.recordPath).toBe('data[*]');
  });

  it.each([
    [{ ...minimal, id: 'x' }, 'id: feed ids are 3-64 letters, digits, . _ -'],
    [{ ...minimal, format: 'yaml' }, 'format: Invalid option'],
    [{ ...minimal, transport: 'ftp' }, 'transport: Invalid option'],
    [{ ...minimal, colour: 'red' }, 'Unrecognized key: "colour"'],
    [{ ...minimal, transport: 'http' }, 'url: a http feed needs a url'],
    [{ ...minimal, url: 'ftp://example.org/x' }, 'url: Invalid URL'],
    [{ ...minimal, schedule: 'every hour' }, 'schedule: schedule must be rate(...) or cron(...)'],
    [{ ...minimal, schedule: 'rate(1 hour)' }, 'schedule: only pull transports have a schedule'],
    [
      { id: 'taxii-feed', format: 'stix', transport: 'taxii', url: 'https://taxii.example.org/api1/' },
      'collection: a taxii feed needs a collection id',
    ],
    [
      { ...minimal, transport: 'misp-rest', url: 'https://misp.example.org/' },
      'format: transport misp-rest carries misp, not csv',
    ],
    [{ ...minimal, auth: 'basic' }, 'credentialsSecret: auth basic needs a credentialsSecret'],
    [{ ...minimal, preset: 'urlhause' }, "preset: unknown csv preset 'urlhause'; expected one of urlhaus"],
    [{ id: 'stix-feed', format: 'stix', preset: 'urlhaus' }, 'preset: format stix has no presets'],
    [
      { ...minimal, json: { fields: [{ path: 'v' }] } },
      'json: a json mapping only applies to format json, not csv',
    ],
    [{ ...minimal, csv: { delimiter: '' } }, 'csv.delimiter: Too small'],
    [{ ...minimal, csv: { columns: [{ column: 'ip', type: 'ip' }] } }, 'csv.columns.0.type'],
    [{ ...minimal, csv: { headr: true } }, 'csv: Unrecognized key: "headr"'],
    [{ ...minimal, defaults: { confidence: 101 } }, 'defaults.confidence: Too big'],
    [{ ...minimal, defaults: { tlp: 'white' } }, 'defaults.tlp: Invalid option'],
    [{ ...minimal, filters: { maxThreatLevelId: 5 } }, 'filters.maxThreatLevelId: Too big'],
    [{ ...minimal, filters: { types: ['ip'] } }, 'filters.types.0: Invalid option'],
    [{ ...minimal, dedupWindowHours: 0 }, 'dedupWindowHours: Too small'],
    [{ id: 'json-feed', format: 'json', json: { fields: [] } }, 'json.fields: Too small'],
  ])('rejects %j naming the key', (input, message) => {
    // Act
    const parsed = parseFeedConfig(input);
    // Assess
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? '' : parsed.reason).toContain(message);
  });

  it('knows a mapping for every CSV preset name it accepts', () => {
    expect(Object.keys(CSV_PRESETS).sort()).toEqual([...CSV_PRESET_NAMES].sort());
  });
});

describe('parseFeedConfigFile', () => {
  it('names the feed index and key of a bad feed', () => {
    // Act
    const parsed = parseFeedConfigFile({
      feeds: [minimal, { ...minimal, id: 'b2', filters: { publishedOnly: 'yes' } }],
    });
    // Assess
    expect(parsed).toEqual({ ok: false, reason: expect.stringContaining('feeds.1.filters.publishedOnly') });
  });

  it('rejects duplicate feed ids', () => {
    // Act
    const parsed = parseFeedConfigFile({ feeds: [minimal, minimal] });
    // Assess
    expect(parsed).toEqual({ ok: false, reason: 'feeds.1.id: duplicate feed id abusech-urlhaus' });
  });
});

describe('examples/feeds.yaml', () => {
  const doc: unknown = parseYaml(readFileSync(new URL('../../examples/feeds.yaml', import.meta.url), 'utf8'));

  it('parses with the schema', () => {
    // Act
    const parsed = parseFeedConfigFile(doc);
    // Assess
    expect(parsed.ok ? '' : parsed.reason).toBe('');
  });

  it('has an example of every transport and every format it documents', () => {
    // Act
    const feeds = (doc as { feeds: unknown[] }).feeds.map((f) => FeedConfigSchema.parse(f));
    // Assess
    expect(new Set(feeds.map((f) => f.transport))).toEqual(
      new Set(['push', 'taxii', 'misp-rest', 'misp-feed', 'http']),
    );
    expect(new Set(feeds.map((f) => f.format))).toEqual(
      new Set(['csv', 'stix', 'misp', 'misp-feed', 'json', 'xml', 'rss', 'text']),
    );
    expect(new Set(feeds.flatMap((f) => (f.preset ? [f.preset] : [])))).toEqual(
      new Set([...CSV_PRESET_NAMES, 'stix1']),
    );
  });
});
