import type { z } from 'zod';
import { html } from 'hono/html';
import type { FieldError, Markup } from './layout.ts';

/**
 * Checks a console form against the admin API's own request schema (the same rule, not a copy):
 * the parsed value, or one error per field for the form's error summary.
 */
export function parseWith<T extends z.ZodType>(
  schema: T,
  value: unknown,
): { ok: true; data: z.infer<T> } | { ok: false; errors: FieldError[] } {
  const result = schema.safeParse(value);
  if (result.success) return { ok: true, data: result.data };
  return {
    ok: false,
    errors: result.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? '');
      return name === ''
        ? { message: issue.message }
        : { field: name, message: `${name.replace(/_/g, ' ')}: ${issue.message}` };
    }),
  };
}

/** One entry per non-empty line of a textarea. */
export function lines(value: string | undefined): string[] {
  return (value ?? '')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
}

/** A labelled textarea, its error tied on with aria-describedby. */
export function textarea(
  options: { name: string; label: string; hint?: string; value?: string },
  errors: FieldError[] = [],
): Markup {
  const { name } = options;
  const error = errors.find((e) => e.field === name);
  const described = [options.hint ? `${name}-hint` : null, error ? `${name}-error` : null].filter(
    (id) => id !== null,
  );
  return html`<div class="field">
    <label for="${name}">${options.label}</label>
    ${options.hint ? html`<p class="hint" id="${name}-hint">${options.hint}</p>` : ''}
    ${error ? html`<p class="field-error" id="${name}-error">${error.message}</p>` : ''}
    <textarea
      id="${name}"
      name="${name}"
      rows="3"
      cols="40"
      ${described.length > 0 ? html`aria-describedby="${described.join(' ')}"` : ''}
      ${error ? html`aria-invalid="true"` : ''}
    >
${options.value ?? ''}</textarea>
  </div>`;
}

/** A checkbox with its label. */
export function checkbox(name: string, label: string, checked = false): Markup {
  return html`<div class="field">
    <label class="check" for="${name}"
      ><input type="checkbox" id="${name}" name="${name}" value="on" ${checked ? 'checked' : ''} />
      ${label}</label
    >
  </div>`;
}

/** `2026-12-02 15:21 UTC`: compact, unambiguous. */
export function when(date: Date | null): string {
  return date === null ? '—' : `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
