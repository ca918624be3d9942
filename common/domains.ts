/**
 * The rules a customer's domain obeys before the platform does anything with it (issue 25, item 4). A
 * domain is stored as entered (lower-case ASCII; an internationalized one in its punycode `xn--` form) and
 * shown decoded. Refused by rule: names the platform answers on itself (`localhost` and anything under it:
 * the local gateway routes `<id>.localhost` and `api.<id>.localhost` to tenants), IP addresses, wildcards,
 * labels over 63 or names over 253 characters, punycode that does not decode or decodes to symbols, and
 * labels that mix scripts
 * (a Cyrillic `а` among Latin letters reads as `a`: a homograph). Which tenant owns a domain, or a name under
 * it, is the registry's to say (workflow-tasks/records/registry.ts).
 */
import { domainToUnicode } from 'node:url';

/** Names the platform answers on itself, whatever the deployment. */
const RESERVED = ['localhost'];

/** Scripts a label may use alone or, for the combinations below, together. */
const SCRIPTS = [
  'Latin',
  'Greek',
  'Cyrillic',
  'Armenian',
  'Hebrew',
  'Arabic',
  'Devanagari',
  'Bengali',
  'Thai',
  'Georgian',
  'Hangul',
  'Hiragana',
  'Katakana',
  'Han',
  'Bopomofo',
] as const;
const SCRIPT_PATTERNS = SCRIPTS.map((script) => [script, new RegExp(`\\p{Script=${script}}`, 'u')] as const);
/** Mixtures a language writes (as browsers allow them: Japanese, Chinese with Bopomofo, Korean), with Latin. */
const ALLOWED_MIXES: readonly (readonly string[])[] = [
  ['Latin', 'Han', 'Hiragana', 'Katakana'],
  ['Latin', 'Han', 'Bopomofo'],
  ['Latin', 'Han', 'Hangul'],
];

/** What keeps `domain` from being a customer's domain, each a sentence; none when it may be one. */
export function domainProblems(domain: string): string[] {
  const problems: string[] = [];
  if (domain.length > 253) problems.push('must be at most 253 characters');
  if (domain.includes('*')) problems.push('must not be a wildcard');
  if (/^\d+(\.\d+){3}$/.test(domain) || domain.includes(':'))
    problems.push('must be a name, not an IP address');
  const labels = domain.split('.');
  if (labels.some((label) => label.length > 63)) problems.push('must have labels of at most 63 characters');
  for (const reserved of RESERVED)
    if (domain === reserved || domain.endsWith(`.${reserved}`))
      problems.push(`must not be ${reserved} or under it (the platform's own addresses)`);
  for (const label of labels.filter((l) => l.startsWith('xn--'))) {
    const decoded = domainToUnicode(label);
    if (!decoded || decoded === label) {
      problems.push(`has a label ${label} that is not valid punycode`);
      continue;
    }
    if (!/^[\p{L}\p{M}\p{Nd}-]+$/u.test(decoded)) {
      problems.push(
        `has a label ${label} (${decoded}) with symbols a domain may not have (letters, digits and -)`,
      );
      continue;
    }
    const scripts = scriptsOf(decoded);
    if (scripts.size > 1 && !ALLOWED_MIXES.some((mix) => [...scripts].every((s) => mix.includes(s))))
      problems.push(
        `has a label ${label} (${decoded}) that mixes scripts (${[...scripts].join(', ')}): a look-alike of another name`,
      );
  }
  return problems;
}

/** A domain as a person reads it: its punycode labels decoded. */
export function displayDomain(domain: string): string {
  return domainToUnicode(domain) || domain;
}

/** The scripts of a label's letters (digits, hyphens and marks belong to none); unlisted ones as one. */
function scriptsOf(label: string): Set<string> {
  const found = new Set<string>();
  for (const char of label) {
    if (/[\p{Script=Common}\p{Script=Inherited}]/u.test(char)) continue;
    const script = SCRIPT_PATTERNS.find(([, pattern]) => pattern.test(char))?.[0];
    found.add(script ?? 'another script');
  }
  return found;
}
