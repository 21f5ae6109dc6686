import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { consolePage } from '../../../functions/query-api/console-page.ts';

const hash = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

describe('GET / (the console page)', () => {
  const page = consolePage();
  const body = page.body;
  const policy = String(page.headers?.['content-security-policy']);

  it('allows only its own inline script and style, by hash, and requests to this origin', () => {
    // Prepare
    const script = /<script>([\s\S]*)<\/script>/.exec(body)?.[1] ?? '';
    const style = /<style>([\s\S]*)<\/style>/.exec(body)?.[1] ?? '';
    // Assess
    expect(page.statusCode).toBe(200);
    expect(page.headers?.['content-type']).toBe('text/html; charset=utf-8');
    const directives = Object.fromEntries(
      policy
        .split('; ')
        .map((directive) => [directive.split(' ')[0], directive.split(' ').slice(1).join(' ')]),
    );
    expect(directives).toEqual({
      'default-src': "'none'",
      'script-src': hash(script),
      'style-src': hash(style),
      'connect-src': "'self'",
      'base-uri': "'none'",
      'form-action': "'none'",
      'frame-ancestors': "'none'",
    });
    expect(body.match(/<script/g)).toHaveLength(1);
  });

  it('puts API data in the DOM as text only: no HTML parsing sink in its script', () => {
    // Assess: values are attacker-controlled threat data.
    expect(body).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/);
    expect(body).toMatch(/createTextNode/);
  });
});
