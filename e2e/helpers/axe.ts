/**
 * axe-core's WCAG 2.x A and AA rules over a page as it is, for the Chromium e2e tests. Injected through the
 * DevTools protocol (page.evaluate), not a <script>: the app's CSP refuses inline scripts, as it should.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

let source: string | undefined;

interface AxeResult {
  violations: { id: string; impact: string | null; help: string; nodes: { target: string[] }[] }[];
}

export const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

/** One line per violation (rule, impact, what it asks, where); empty when axe finds none. */
export async function axeViolations(page: Page): Promise<string[]> {
  source ??= fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  await page.evaluate(source);
  const result = await page.evaluate(async (tags) => {
    const axe = (globalThis as unknown as { axe: { run(ctx: unknown, opts: unknown): Promise<unknown> } })
      .axe;
    return (await axe.run({ exclude: [] }, { runOnly: { type: 'tag', values: tags } })) as AxeResult;
  }, AXE_TAGS);
  return result.violations.map(
    (v) => `${v.id} (${v.impact ?? '?'}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`,
  );
}
