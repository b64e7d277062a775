/**
 * Policy values as a report may state them (docs/REPORT.md §1): a report sits on a share that many people
 * read, and a URL's user info or query is how a collector (`auditForward`, forwarder.ts: https.request sends
 * the user info as Basic authentication) or an update server knows the laptop. Whoever read it could post
 * made-up events to the very collector that is the independent record after a loss.
 */

/** `https://host/path`, with `[credentials]@` and `?[query]` standing for what was there; other values as given. */
export function withoutUrlSecrets(value: string): string {
  const url = URL.parse(value.trim());
  if (url === null || (url.protocol !== 'https:' && url.protocol !== 'http:')) return value;
  const credentials = url.username !== '' || url.password !== '' ? '[credentials]@' : '';
  const query = url.search !== '' ? '?[query]' : '';
  const fragment = url.hash !== '' ? '#[fragment]' : '';
  return `${url.protocol}//${credentials}${url.host}${url.pathname}${query}${fragment}`;
}
