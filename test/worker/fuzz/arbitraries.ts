// fast-check arbitraries for hostile requests: strings with every Unicode edge, bodies that are
// malformed at the boundary, junk headers, cookies and tokens, percent-junk path segments.
import fc from 'fast-check';

/** Text the boundary must refuse: C0 controls, DEL, lone surrogates. */
export const forbiddenText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '\u0000',
    'a\u0000b',
    '\u0007',
    '\u001b[31m',
    'line\nbreak',
    'tab\there',
    '\u007f',
  ),
  fc.constantFrom('\ud800', '\udfff', 'x\udc00y', 'end\udbff', '\ude00\ud800'),
  fc
    .tuple(
      fc.string({ maxLength: 8 }),
      fc.integer({ min: 0, max: 0x1f }),
      fc.string({ maxLength: 8 }),
    )
    .map(([a, code, b]) => `${a}${String.fromCharCode(code)}${b}`),
  fc
    .tuple(fc.string({ maxLength: 8 }), fc.integer({ min: 0xd800, max: 0xdfff }))
    .map(([a, code]) => `${a}${String.fromCharCode(code)}`),
);

/** Text that is allowed but unusual: RTL, combining stacks, BOMs, noncharacters, long runs. */
export const oddText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    '\u202eevil\u202c',
    '\u200f\u05e9\u05dc\u05d5\u05dd',
    `e${'\u0301'.repeat(200)}`,
    '\ufeffbom',
    '\uffff\ufffe',
    '\u2028\u2029\u0085',
    '𝕏'.repeat(3000),
    'A'.repeat(10_000),
    "' or 1=1 --",
    '<script>alert(1)</script>',
    '../../../etc/passwd',
    '%00%ff',
    '1e309',
    '-0',
    'null',
    '__proto__',
    'constructor',
  ),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ maxLength: 300 }),
);

export const anyText: fc.Arbitrary<string> = fc.oneof(forbiddenText, oddText);

/** A JSON value with a mix of types; `text` decides what strings look like. */
export function jsonValue(text: fc.Arbitrary<string>): fc.Arbitrary<unknown> {
  return fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      text,
      fc.integer(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.array(tie('value'), { maxLength: 4 }),
      fc.dictionary(text, tie('value'), { maxKeys: 4 }),
    ),
  })).value;
}

/** What a route's body schema says, enough to break it (from its JSON Schema). */
export interface BodyShape {
  fields: string[];
  /** Required fields whose JSON type is known, with that type (`string`, `object`, ...). */
  typed: { name: string; types: string[] }[];
  required: string[];
}

export interface BodyPlan {
  kind: string;
  contentType: string | null;
  body: string | Uint8Array | null;
}

const JSON_TYPE = 'application/json';
const byType: Record<string, unknown[]> = {
  string: ['x'],
  number: [1, 1.5],
  integer: [1],
  boolean: [true],
  null: [null],
  array: [[]],
  object: [{}],
};

function wrongTypeFor(types: string[]): unknown {
  for (const [type, values] of Object.entries(byType)) {
    if (types.includes(type) || (type === 'integer' && types.includes('number'))) continue;
    if (type === 'number' && types.includes('integer')) continue;
    return values[0];
  }
  return undefined;
}

const deep = (depth: number, open: string, close: string): string =>
  `${open.repeat(depth)}${close.repeat(depth)}`;

/**
 * A body every route must refuse before any work, whatever its schema: each plan carries at
 * least one defect the boundary catches (its kind names it).
 */
export function refusedBody(shape: BodyShape): fc.Arbitrary<BodyPlan> {
  const fieldName = shape.fields.length > 0 ? fc.constantFrom(...shape.fields) : fc.constant('x');
  const extras = fc.dictionary(
    oddText.filter((t) => t.length < 50),
    jsonValue(oddText),
    {
      maxKeys: 3,
    },
  );
  const plans: fc.Arbitrary<BodyPlan>[] = [
    // A control character or lone surrogate in a known field, a key, or deep inside a value.
    fc.tuple(fieldName, forbiddenText, extras, fc.boolean()).map(([name, bad, rest, asKey]) => ({
      kind: 'forbidden-text',
      contentType: JSON_TYPE,
      body: JSON.stringify(asKey ? { ...rest, [bad]: 'x' } : { ...rest, [name]: bad }),
    })),
    fc.tuple(fieldName, forbiddenText).map(([name, bad]) => ({
      kind: 'forbidden-text-nested',
      contentType: JSON_TYPE,
      body: JSON.stringify({ [name]: [{ a: [bad] }] }),
    })),
    // Malformed JSON: truncated, trailing junk, single quotes, bare words.
    fc
      .tuple(jsonValue(oddText), fc.nat())
      .map(([value, cut]) => {
        const text = JSON.stringify({ v: value });
        return text.slice(0, 1 + (cut % (text.length - 1)));
      })
      .map((text) => ({ kind: 'malformed-json', contentType: JSON_TYPE, body: text })),
    fc
      .constantFrom(
        '{',
        '{"a":}',
        "{'a':1}",
        '{"a":1,}',
        'nul',
        '{"a":1}}',
        '[1,2',
        '"\\ud800',
        '\u0000',
      )
      .map((text) => ({ kind: 'malformed-json', contentType: JSON_TYPE, body: text })),
    // Not an object at the top.
    fc
      .oneof(fc.array(oddText, { maxLength: 3 }), fc.integer(), oddText, fc.constant(null))
      .map((value) => ({
        kind: 'not-object',
        contentType: JSON_TYPE,
        body: JSON.stringify(value),
      })),
    // Deep nesting, past any schema: 40 to 10,000 levels of arrays or objects.
    fc.tuple(fc.integer({ min: 40, max: 10_000 }), fc.boolean()).map(([depth, arrays]) => ({
      kind: 'deep',
      contentType: JSON_TYPE,
      body: arrays ? deep(depth, '[', ']') : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`,
    })),
    // Over the 64 KiB limit.
    fc.integer({ min: 65 * 1024, max: 300 * 1024 }).map((size) => ({
      kind: 'huge',
      contentType: JSON_TYPE,
      body: JSON.stringify({ [shape.fields[0] ?? 'x']: 'x'.repeat(size) }),
    })),
    // Not UTF-8.
    fc
      .constantFrom([0xff, 0xfe], [0x7b, 0x22, 0xc0, 0x80, 0x22], [0xed, 0xa0, 0x80], [0x7b, 0x80])
      .map((bytes) => ({ kind: 'not-utf8', contentType: JSON_TYPE, body: new Uint8Array(bytes) })),
    // A type other than JSON (a body is always sent, so "no body" does not count as `{}`).
    fc
      .tuple(
        fc.constantFrom(
          'text/plain',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          'application/xml',
          'application/jsonx',
          'json',
          ';;;',
        ),
        jsonValue(oddText),
      )
      .map(([contentType, value]) => ({
        kind: 'wrong-content-type',
        contentType,
        body: JSON.stringify(value ?? {}) || '{}',
      })),
  ];
  if (shape.required.length > 0) {
    plans.push(
      extras.map((rest) => {
        const body = { ...rest };
        for (const name of shape.required) delete body[name];
        return { kind: 'missing-field', contentType: JSON_TYPE, body: JSON.stringify(body) };
      }),
    );
  }
  const breakable = shape.typed.filter((field) => wrongTypeFor(field.types) !== undefined);
  if (breakable.length > 0) {
    plans.push(
      fc.constantFrom(...breakable).map((field) => ({
        kind: 'wrong-type',
        contentType: JSON_TYPE,
        body: JSON.stringify({ [field.name]: wrongTypeFor(field.types) }),
      })),
    );
  }
  return fc.oneof(...plans);
}

/** Header values are ByteStrings without CR, LF or NUL: anything else is what a client can send. */
export const headerText: fc.Arbitrary<string> = fc
  .oneof(
    oddText,
    fc.string({ unit: 'binary-ascii', maxLength: 100 }),
    fc.constantFrom('=', ';', ';;==;;', '"', '\\', 'a=b; a=c', 'x'.repeat(8000)),
  )
  .map((text) => text.replace(/[^\x20-\x7e\t]/g, '?'));

/** Percent junk for a path segment: escapes that do not decode, or decode to forbidden text. */
export const segmentJunk: fc.Arbitrary<{ text: string; decodes: boolean }> = fc.oneof(
  fc
    .constantFrom('%', '%%', '%f', '%zz', '%ff%fe', '%c0%80', '%ed%a0%80', '%E0%A4%A', 'a%', '%80')
    .map((text) => ({ text, decodes: false })),
  fc
    .constantFrom('%00', 'a%00b', '%0a', '%1b', '%7f', '%09')
    .map((text) => ({ text, decodes: true })),
);
