/**
 * The hosted pages' stylesheet, served as a content-hashed same-origin asset (no inline style:
 * the page CSP refuses it). The tenant's accent colour arrives as `--accent` from
 * `{issuer}/branding.css`; the default keeps WCAG AA contrast with white text.
 */
export const PAGES_CSS = `
:root { --accent: #1a56db; --text: #111827; --muted: #4b5563; --error: #b91c1c; --bg: #f9fafb; }
*, *::before, *::after { box-sizing: border-box; }
html { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--text); background: var(--bg); line-height: 1.5; }
body { margin: 0; }
.skip-link { position: absolute; left: -10000px; top: 0; padding: 0.5rem 1rem; background: #fff; color: var(--text); }
.skip-link:focus { left: 0.5rem; top: 0.5rem; z-index: 10; }
header { padding: 1.25rem 1rem 0; text-align: center; }
header img { max-height: 48px; max-width: 240px; }
.brand { font-weight: 600; font-size: 1.125rem; }
main { max-width: 26rem; margin: 1.5rem auto 3rem; padding: 1.5rem; background: #fff; border: 1px solid #e5e7eb; border-radius: 0.5rem; }
main:focus { outline: none; }
h1 { font-size: 1.5rem; margin: 0 0 1rem; }
h2 { font-size: 1.125rem; margin: 0 0 0.5rem; }
p { margin: 0 0 1rem; }
label { display: block; font-weight: 600; margin-bottom: 0.25rem; }
.field { margin-bottom: 1rem; }
.hint { color: var(--muted); font-size: 0.875rem; margin: 0 0 0.25rem; }
input[type="email"], input[type="password"], input[type="text"] { width: 100%; padding: 0.5rem 0.625rem; font: inherit; border: 1px solid #6b7280; border-radius: 0.375rem; }
input[aria-invalid="true"] { border-color: var(--error); border-width: 2px; }
.field-error { color: var(--error); font-weight: 600; margin: 0 0 0.25rem; }
button, .button { display: inline-block; padding: 0.5rem 1rem; font: inherit; font-weight: 600; color: #fff; background: var(--accent); border: 2px solid var(--accent); border-radius: 0.375rem; cursor: pointer; text-decoration: none; }
button.secondary { color: var(--accent); background: #fff; }
button[hidden] { display: none; }
.actions { display: flex; gap: 0.75rem; flex-wrap: wrap; align-items: center; margin-top: 1rem; }
a { color: #1e40af; }
a:focus-visible, button:focus-visible, input:focus-visible, .button:focus-visible { outline: 3px solid #f59e0b; outline-offset: 2px; }
.error-summary { border: 3px solid var(--error); padding: 0.75rem 1rem; margin-bottom: 1rem; border-radius: 0.375rem; }
.error-summary:focus { outline: 3px solid #f59e0b; }
.error-summary ul { margin: 0; padding-left: 1.25rem; }
.error-summary a { color: var(--error); font-weight: 600; }
.notice { background: #eff6ff; border-left: 4px solid #1e40af; padding: 0.75rem 1rem; margin-bottom: 1rem; }
.links { margin-top: 1.25rem; font-size: 0.9375rem; }
.links li { margin-bottom: 0.25rem; }
.scopes li { margin-bottom: 0.375rem; }
.status { min-height: 1.5rem; color: var(--muted); }
`;
