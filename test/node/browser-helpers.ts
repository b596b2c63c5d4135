// Shared by the Chromium tests (hosted pages, console): axe-core inside the page, and a probe that
// adds an inline <script> and <style> through the DOM and reports whether the page CSP let them run.
import axe from 'axe-core';
import type { Page } from 'playwright-core';

export const CHROMIUM = process.env.GATEHOUSE_CHROMIUM ?? '/usr/bin/chromium';
/** In CI a missing browser is a broken machine, not a reason to skip: the test fails instead. */
export const IN_CI = process.env.CI === 'true' || process.env.CI === '1';

export interface Violation {
  id: string;
  impact?: string | null;
  nodes: { target: string[] }[];
}

export async function axeViolations(page: Page): Promise<Violation[]> {
  // Runtime evaluation through the DevTools protocol is not page script: the CSP does not apply.
  await page.evaluate(axe.source);
  return page.evaluate(async () => {
    const result = await (
      globalThis as unknown as { axe: { run(): Promise<{ violations: Violation[] }> } }
    ).axe.run();
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact ?? null,
      nodes: v.nodes.map((n) => ({ target: n.target })),
    }));
  });
}

/** Adds an inline script and an inline style through the DOM; reports what ran and what CSP said. */
const INLINE_PROBE = `new Promise((resolve) => {
  const violations = [];
  document.addEventListener('securitypolicyviolation', (e) => violations.push(e.effectiveDirective));
  globalThis.inlineRan = false;
  const script = document.createElement('script');
  script.textContent = 'globalThis.inlineRan = true;';
  document.body.appendChild(script);
  const style = document.createElement('style');
  style.textContent = 'body { outline: 7px solid rgb(255, 0, 0) !important; }';
  document.head.appendChild(style);
  setTimeout(() => resolve({
    violations,
    scriptRan: globalThis.inlineRan === true,
    styleApplied: getComputedStyle(document.body).outlineWidth === '7px',
  }), 500);
})`;

export function tryInline(
  page: Page,
): Promise<{ violations: string[]; scriptRan: boolean; styleApplied: boolean }> {
  return page.evaluate(INLINE_PROBE);
}
