import { describe, expect, it } from 'vitest';
import type { Format } from '../../functions/domain/indicator.ts';
import { detectFormat } from '../../functions/formats/index.ts';
import { CONTENT_TYPES, formatOfFile } from '../../lib/local/content-types.ts';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('formatOfFile', () => {
  it.each([
    ['bundle.json', '{"type":"bundle","id":"bundle--1","objects":[]}', 'stix'],
    ['event.json', '{"Event":{"info":"x","Attribute":[]}}', 'misp'],
    ['list.json', '{"indicators":[{"type":"ipv4","value":"1.2.3.4"}]}', 'json'],
    ['feed.csv', '# banner\n"first_seen","dst_ip"\n"2024-01-01","1.2.3.4"\n', 'csv'],
    ['report.txt', 'C2 at 1.2.3[.]4', 'text'],
    ['notes', 'C2 at 1.2.3[.]4', 'text'],
  ])('%s is %s', (name, content, expected) => {
    expect(formatOfFile(name, bytes(content), detectFormat)).toBe(expected);
  });

  it.each([
    ['x.json', 'json'],
    ['x.xml', 'xml'],
    ['x.rss', 'rss'],
    ['x.atom', 'rss'],
    ['x.tsv', 'csv'],
  ])('falls back on the extension of %s when the content only reads as text', (name, expected) => {
    expect(formatOfFile(name, bytes('plain words'), () => 'text')).toBe(expected);
  });
});

describe('CONTENT_TYPES', () => {
  it.each([
    ['stix', 'application/stix+json'],
    ['misp', 'application/json'],
    ['csv', 'text/csv'],
    ['xml', 'application/xml'],
    ['rss', 'application/rss+xml'],
    ['text', 'text/plain'],
  ] as [Format, string][])('sends %s as %s', (format, type) => {
    expect(CONTENT_TYPES[format]).toBe(type);
  });
});
