import { fail, ok, type Result } from '../result.ts';
import { type DomainOptions, normalizeDomain } from './domain.ts';
import { quote } from './ipv4.ts';
import { refang } from './refang.ts';

const MAILTO = /^mailto:/i;
const LOCAL_PART = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;

/**
 * An e-mail address: refanged, lower case (mailbox names are case-insensitive in practice), the domain
 * part normalized as a domain.
 *
 * @example normalizeEmail('Phish[at]Evil[.]com') // { ok: true, value: 'phish@evil.com' }
 */
export function normalizeEmail(input: string, options: DomainOptions = {}): Result<string> {
  const text = refang(input.trim()).replace(MAILTO, '');
  const at = text.lastIndexOf('@');
  if (at <= 0 || at === text.length - 1) return fail(`expected local@domain, found ${quote(text)}`);
  const local = text.slice(0, at).toLowerCase();
  if (local.length > 64 || !LOCAL_PART.test(local)) return fail(`invalid mailbox name ${quote(local)}`);
  const domain = normalizeDomain(text.slice(at + 1), options);
  if (!domain.ok) return fail(`e-mail domain: ${domain.reason}`);
  return ok(`${local}@${domain.value}`, domain.warnings);
}
