/**
 * The console's stylesheet, served as a content-hashed same-origin asset (the page CSP refuses
 * inline style). Colours keep WCAG AA contrast on white; focus is always visible.
 */
export const CONSOLE_CSS = `
:root { --accent: #1a56db; --text: #111827; --muted: #4b5563; --error: #b91c1c; --ok: #166534; --bg: #f3f4f6; --line: #d1d5db; }
*, *::before, *::after { box-sizing: border-box; }
html { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--text); background: var(--bg); line-height: 1.5; }
body { margin: 0; }
.skip-link { position: absolute; left: -10000px; top: 0; padding: 0.5rem 1rem; background: #fff; color: var(--text); }
.skip-link:focus { left: 0.5rem; top: 0.5rem; z-index: 10; }
.topbar { display: flex; align-items: center; justify-content: space-between; gap: 1rem; padding: 0.75rem 1.5rem; background: #111827; color: #fff; }
.topbar .brand { font-weight: 700; color: #fff; text-decoration: none; }
.topbar form { margin: 0; }
.topbar .who { color: #e5e7eb; margin-right: 0.75rem; }
.topbar button { color: #fff; background: transparent; border: 2px solid #9ca3af; }
.layout { display: flex; gap: 1.5rem; max-width: 72rem; margin: 1.5rem auto; padding: 0 1rem; align-items: flex-start; }
nav.sections { flex: 0 0 12rem; }
nav.sections ul { list-style: none; margin: 0; padding: 0; }
nav.sections a { display: block; padding: 0.375rem 0.75rem; border-radius: 0.375rem; color: #1e40af; text-decoration: none; }
nav.sections a[aria-current="page"] { background: #dbeafe; font-weight: 700; color: #1e3a8a; }
main { flex: 1; min-width: 0; background: #fff; border: 1px solid #e5e7eb; border-radius: 0.5rem; padding: 1.5rem; }
main.narrow { max-width: 28rem; margin: 2rem auto; flex: none; }
main:focus { outline: none; }
h1 { font-size: 1.5rem; margin: 0 0 1rem; }
h2 { font-size: 1.125rem; margin: 1.5rem 0 0.5rem; }
p { margin: 0 0 1rem; }
label { display: block; font-weight: 600; margin-bottom: 0.25rem; }
.field { margin-bottom: 1rem; }
.hint { color: var(--muted); font-size: 0.875rem; margin: 0 0 0.25rem; }
input[type="email"], input[type="password"], input[type="text"], input[type="search"], input[type="file"], select, textarea { width: 100%; max-width: 28rem; padding: 0.5rem 0.625rem; font: inherit; border: 1px solid #6b7280; border-radius: 0.375rem; background: #fff; }
input[aria-invalid="true"] { border-color: var(--error); border-width: 2px; }
.check { display: flex; gap: 0.5rem; align-items: center; font-weight: 400; }
.field-error { color: var(--error); font-weight: 600; margin: 0 0 0.25rem; }
button, .button { display: inline-block; padding: 0.4rem 0.9rem; font: inherit; font-weight: 600; color: #fff; background: var(--accent); border: 2px solid var(--accent); border-radius: 0.375rem; cursor: pointer; text-decoration: none; }
button.secondary { color: #1e40af; background: #fff; }
button.danger { background: var(--error); border-color: var(--error); }
.inline { display: inline; margin: 0; }
.row-actions { display: flex; gap: 0.5rem; flex-wrap: wrap; }
.filters { display: flex; gap: 1rem; flex-wrap: wrap; align-items: flex-end; margin-bottom: 1rem; }
.filters .field { margin: 0; }
a { color: #1e40af; }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, .button:focus-visible { outline: 3px solid #f59e0b; outline-offset: 2px; }
table { border-collapse: collapse; width: 100%; margin-bottom: 1rem; font-size: 0.9375rem; }
caption { text-align: left; font-weight: 600; padding-bottom: 0.5rem; }
th, td { text-align: left; padding: 0.5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #f9fafb; }
td code, dd code { font-size: 0.875rem; word-break: break-all; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.25rem 1rem; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; }
.error-summary { border: 3px solid var(--error); padding: 0.75rem 1rem; margin-bottom: 1rem; border-radius: 0.375rem; }
.error-summary ul { margin: 0; padding-left: 1.25rem; }
.notice { background: #eff6ff; border-left: 4px solid #1e40af; padding: 0.75rem 1rem; margin-bottom: 1rem; }
.status-ok { color: var(--ok); font-weight: 700; }
.status-bad { color: var(--error); font-weight: 700; }
.codes { font-family: ui-monospace, monospace; columns: 2; }
.pager { display: flex; gap: 1rem; }
`;
