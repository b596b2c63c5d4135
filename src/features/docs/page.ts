// The /docs reference page: static HTML, CSS and a script, all same-origin, so the page runs under
// a CSP with no inline script. It renders /openapi.json and can send requests (with credentials).

export const DOCS_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Gatehouse API reference</title>
<link rel="stylesheet" href="docs/app.css">
<script src="docs/app.js" defer></script>
</head>
<body>
<header><h1>Gatehouse API reference</h1><p id="intro"></p>
<label>Tenant path prefix <input id="prefix" placeholder="/t/your-tenant (empty: default tenant)"></label>
<label>Bearer token <input id="bearer" placeholder="API key or access token (optional)"></label></header>
<main id="operations"><p>Loading openapi.json…</p></main>
</body>
</html>
`;

export const DOCS_CSS = `body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1b1f24;background:#f6f7f9}
header{padding:1.2rem 2rem;background:#12263a;color:#fff}header label{display:inline-block;margin:.3rem 1rem .3rem 0}
header input{width:22rem;padding:.25rem}main{padding:1rem 2rem}h2{margin-top:2rem;text-transform:capitalize}
details{background:#fff;border:1px solid #d5d9de;border-radius:6px;margin:.4rem 0;padding:.4rem .8rem}
summary{cursor:pointer}code.m{display:inline-block;width:4.5rem;font-weight:700}.get{color:#1a7f37}.post{color:#0b5cad}
.delete{color:#b42318}.patch,.put{color:#8a5300}pre{background:#f0f2f5;padding:.6rem;overflow:auto;max-height:22rem}
textarea{width:100%;min-height:7rem;font-family:ui-monospace,monospace}button{margin:.4rem 0;padding:.3rem .9rem}
.params input{margin:.2rem .5rem .2rem 0}.status{font-weight:700}
`;

export const DOCS_JS = `'use strict';
(async () => {
  const root = document.getElementById('operations');
  const base = new URL('.', location.href);
  const doc = await (await fetch(new URL('openapi.json', base))).json();
  document.getElementById('intro').textContent = doc.info.description;
  root.textContent = '';
  const byTag = new Map();
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const tag = (op.tags && op.tags[0]) || 'other';
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push({ path, method, op });
    }
  }
  const el = (name, props = {}, ...children) => {
    const node = document.createElement(name);
    Object.assign(node, props);
    for (const child of children) node.append(child);
    return node;
  };
  for (const [tag, ops] of byTag) {
    root.append(el('h2', { textContent: tag }));
    for (const { path, method, op } of ops) {
      const params = (op.parameters || []).filter((p) => p.in === 'path' || p.in === 'query');
      const inputs = params.map((p) => el('input', { placeholder: p.name + ' (' + p.in + ')', name: p.name, dataset: { in: p.in } }));
      const schema = op.requestBody && Object.values(op.requestBody.content)[0].schema;
      const body = schema ? el('textarea', { value: JSON.stringify(example(schema), null, 2) }) : null;
      const output = el('pre', { textContent: '' });
      const send = el('button', { textContent: 'Send' });
      send.addEventListener('click', async () => {
        let url = path;
        const query = new URLSearchParams();
        for (const input of inputs) {
          if (input.dataset.in === 'path') url = url.replace('{' + input.name + '}', encodeURIComponent(input.value));
          else if (input.value) query.set(input.name, input.value);
        }
        const prefix = path.startsWith('/v1/auth') || path.startsWith('/.well-known') ? document.getElementById('prefix').value.replace(/\\/$/, '') : '';
        const target = new URL('.' + prefix + url + (query.size ? '?' + query : ''), base);
        const headers = {};
        const bearer = document.getElementById('bearer').value.trim();
        if (bearer) headers.Authorization = 'Bearer ' + bearer;
        if (body) headers['Content-Type'] = 'application/json';
        const response = await fetch(target, { method: method.toUpperCase(), headers, body: body ? body.value : undefined, credentials: 'include' });
        const text = await response.text();
        output.textContent = response.status + ' ' + response.statusText + '\\n\\n' + text;
      });
      root.append(
        el('details', {},
          el('summary', {}, el('code', { className: 'm ' + method, textContent: method.toUpperCase() }), ' ', el('code', { textContent: path }), ' — ' + op.summary),
          el('p', { textContent: 'Auth: ' + ((op.security || []).map((s) => Object.keys(s).join(' + ')).join(' or ') || 'none') }),
          params.length ? el('div', { className: 'params' }, ...inputs) : '',
          body || '',
          el('p', { textContent: 'Responses: ' + Object.entries(op.responses).map(([s, r]) => s + ' ' + r.description).join(' · ') }),
          send,
          output,
        ),
      );
    }
  }
  function example(schema) {
    if (!schema || typeof schema !== 'object') return null;
    if (schema.anyOf || schema.oneOf) return example((schema.anyOf || schema.oneOf)[0]);
    if (schema.type === 'object') {
      const out = {};
      for (const [key, value] of Object.entries(schema.properties || {})) out[key] = example(value);
      return out;
    }
    if (schema.type === 'array') return [];
    if (schema.const !== undefined) return schema.const;
    if (schema.enum) return schema.enum[0];
    if (schema.type === 'string') return schema.format === 'email' ? 'user@example.com' : '';
    if (schema.type === 'number' || schema.type === 'integer') return 0;
    if (schema.type === 'boolean') return false;
    return null;
  }
})();
`;
