// Prometheus text exposition format 0.0.4:
// https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format
import { LATENCY_BUCKETS_SECONDS, statusClass, type TenantCounters } from './samples.ts';

export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

type Labels = Record<string, string>;

interface Family {
  help: string;
  type: 'counter' | 'histogram';
  lines: string[];
}

/** Label values escape backslash, double quote and newline (the format's rule). */
function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function sampleLine(name: string, labels: Labels, value: number): string {
  const rendered = Object.entries(labels)
    .map(([key, v]) => `${key}="${escapeLabel(v)}"`)
    .join(',');
  return `${name}{${rendered}} ${value}`;
}

/**
 * Every tenant's cumulative counters as four families: requests by status, the latency
 * histogram, rate-limit refusals by policy and login failures by reason.
 */
export function renderExposition(totals: Map<string, TenantCounters>): string {
  const families: Record<string, Family> = {
    gatehouse_http_requests_total: {
      help: 'Requests answered, by tenant, route template, method and status.',
      type: 'counter',
      lines: [],
    },
    gatehouse_http_request_duration_seconds: {
      help: 'Time to answer a request, by tenant, route template and method.',
      type: 'histogram',
      lines: [],
    },
    gatehouse_ratelimit_refusals_total: {
      help: 'Requests refused by a rate-limit policy.',
      type: 'counter',
      lines: [],
    },
    gatehouse_login_failures_total: {
      help: 'Failed password logins, by reason (never told to the client).',
      type: 'counter',
      lines: [],
    },
  };
  const add = (family: string, line: string): void => void families[family]!.lines.push(line);
  for (const [tenant, counters] of [...totals].sort(([a], [b]) => a.localeCompare(b))) {
    const histograms = new Map<string, { buckets: number[]; sum: number }>();
    const histogram = (series: string) => {
      let entry = histograms.get(series);
      if (entry === undefined) {
        entry = { buckets: new Array<number>(LATENCY_BUCKETS_SECONDS.length + 1).fill(0), sum: 0 };
        histograms.set(series, entry);
      }
      return entry;
    };
    for (const [field, value] of [...counters].sort(([a], [b]) => a.localeCompare(b))) {
      const parts = field.split('|');
      const [kind] = parts;
      if (kind === 'req' && parts.length === 4) {
        const [, method, route, status] = parts as [string, string, string, string];
        add(
          'gatehouse_http_requests_total',
          sampleLine(
            'gatehouse_http_requests_total',
            { tenant, route, method, status_class: statusClass(Number(status)), status },
            value,
          ),
        );
      } else if (kind === 'lat' && parts.length === 4) {
        const index = Number(parts[3]);
        if (Number.isInteger(index) && index >= 0 && index <= LATENCY_BUCKETS_SECONDS.length)
          histogram(`${parts[1]}|${parts[2]}`).buckets[index]! += value;
      } else if (kind === 'latsum' && parts.length === 3) {
        histogram(`${parts[1]}|${parts[2]}`).sum += value / 1e6;
      } else if (kind === 'rl' && parts.length === 2) {
        add(
          'gatehouse_ratelimit_refusals_total',
          sampleLine('gatehouse_ratelimit_refusals_total', { tenant, policy: parts[1]! }, value),
        );
      } else if (kind === 'lf' && parts.length === 2) {
        add(
          'gatehouse_login_failures_total',
          sampleLine('gatehouse_login_failures_total', { tenant, reason: parts[1]! }, value),
        );
      }
    }
    for (const [series, { buckets, sum }] of histograms) {
      const [method, route] = series.split('|') as [string, string];
      const labels = { tenant, route, method };
      const name = 'gatehouse_http_request_duration_seconds';
      let cumulative = 0;
      LATENCY_BUCKETS_SECONDS.forEach((bound, index) => {
        cumulative += buckets[index]!;
        add(name, sampleLine(`${name}_bucket`, { ...labels, le: String(bound) }, cumulative));
      });
      cumulative += buckets[LATENCY_BUCKETS_SECONDS.length]!;
      add(name, sampleLine(`${name}_bucket`, { ...labels, le: '+Inf' }, cumulative));
      add(name, sampleLine(`${name}_sum`, labels, Number(sum.toFixed(6))));
      add(name, sampleLine(`${name}_count`, labels, cumulative));
    }
  }
  return Object.entries(families)
    .map(([name, family]) =>
      [`# HELP ${name} ${family.help}`, `# TYPE ${name} ${family.type}`, ...family.lines].join(
        '\n',
      ),
    )
    .join('\n')
    .concat('\n');
}
