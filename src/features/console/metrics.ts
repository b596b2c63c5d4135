// Metrics: the figures GET /admin/api/v1/metrics returns (the same counters, read through the same
// service and rendered by the same exposition code), one row per sample.
import { Hono } from 'hono';
import { html } from 'hono/html';
import { AppError } from '../../errors.ts';
import type { AdminEnv } from '../admin/auth.ts';
import { renderExposition } from '../metrics/exposition.ts';
import { readMetricsTotals } from '../metrics/read.ts';
import { formErrors, renderConsole } from './layout.ts';

export const consoleMetricsRoutes = new Hono<AdminEnv>();

interface Sample {
  name: string;
  labels: string;
  value: string;
}

/** `name{a="x",b="y"} 3` lines of the exposition; `# HELP`/`# TYPE` comments are skipped. */
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;

export function samplesOf(exposition: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of exposition.split('\n')) {
    const match = SAMPLE.exec(line);
    if (match === null) continue;
    samples.push({
      name: match[1]!,
      labels: (match[2] ?? '').replace(/,/g, ', '),
      value: match[3]!,
    });
  }
  return samples;
}

/** One database round trip (the operator session) and two Redis round trips; 503 without Redis. */
consoleMetricsRoutes.get('/metrics', async (c) => {
  let samples: Sample[];
  try {
    samples = samplesOf(renderExposition(await readMetricsTotals(c.var.deps, null)));
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    return renderConsole(c, {
      title: 'Metrics',
      section: 'metrics',
      status: 503,
      errors: formErrors(error),
      body: html`<p>Try again shortly.</p>`,
    });
  }
  return renderConsole(c, {
    title: 'Metrics',
    section: 'metrics',
    body: html`<p>
        Cumulative counters (a tenant idle for 8 days starts again from zero), as Prometheus scrapes
        them from <code>GET /admin/api/v1/metrics</code>.
      </p>
      <table>
        <caption>
          ${samples.length} samples
        </caption>
        <thead>
          <tr>
            <th scope="col">Metric</th>
            <th scope="col">Labels</th>
            <th scope="col">Value</th>
          </tr>
        </thead>
        <tbody>
          ${samples.map(
            (s) =>
              html`<tr>
                <td><code>${s.name}</code></td>
                <td><code>${s.labels}</code></td>
                <td>${s.value}</td>
              </tr>`,
          )}
        </tbody>
      </table>`,
  });
});
