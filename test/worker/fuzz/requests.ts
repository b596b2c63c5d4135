// Builds hostile requests for a family of documented routes: wrong methods, percent junk in any
// path segment, junk queries, headers, cookies and bearer tokens, and refused bodies.
import fc from 'fast-check';
import type { RouteDoc } from '../../../src/http/openapi.ts';
import { allRouteDocs } from '../../../src/route-docs.ts';
import { headerText, oddText, refusedBody, segmentJunk, type BodyShape } from './arbitraries.ts';
import type { FuzzRequest } from './run.ts';

export interface FamilyContext {
  /** Put before every route path: `/t/{slug}` for the end-user API, '' for the admin API. */
  prefix: string;
  /** Values for path parameters (`slug`, `id`, ...); others get a random UUID or odd text. */
  params?: Record<string, fc.Arbitrary<string>>;
  /** Header sets that carry valid credentials (a session cookie, an API key). */
  validAuth: Record<string, string>[];
  /** The cookie name the family's session uses, for junk values under the right name. */
  cookieName: string;
}

/** encodeURIComponent, for text a slice may have cut inside a surrogate pair. */
function safeEncode(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return 'x';
  }
}

type Route = RouteDoc & { shape: BodyShape };

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD', 'PROPFIND'];
const served = new Set(allRouteDocs().map((r) => `${r.method.toUpperCase()} ${r.path}`));

/** Methods that no route serves on this path: any of them must be refused. */
function wrongMethods(route: Route): string[] {
  return METHODS.filter((method) => {
    if (served.has(`${method} ${route.path}`)) return false;
    return !(method === 'HEAD' && served.has(`GET ${route.path}`));
  });
}

const junkAuth = (cookieName: string): fc.Arbitrary<Record<string, string>> =>
  fc.oneof(
    headerText.map((v) => ({ Cookie: `${cookieName}=${v}` })),
    headerText.map((v) => ({ Cookie: v })),
    fc.array(headerText, { maxLength: 50 }).map((vs) => ({
      Cookie: vs.map((v, i) => `${i % 2 === 0 ? cookieName : `c${i}`}=${v}`).join('; '),
    })),
    headerText.map((v) => ({ Authorization: `Bearer ${v}` })),
    fc
      .constantFrom(
        'Bearer',
        'Bearer ',
        'bearer  x',
        'Basic YWRtaW46YWRtaW4=',
        'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.',
        'Bearer a.b.c',
        'Bearer ....',
        `Bearer ${'A'.repeat(9000)}`,
        'Bearer gh_live_0000000000000000000000000000000000',
      )
      .map((v) => ({ Authorization: v })),
  );

const extraHeaders: fc.Arbitrary<Record<string, string>> = fc
  .record(
    {
      'X-Request-Id': headerText,
      Origin: fc.oneof(
        headerText,
        fc.constantFrom('null', 'https://evil.example', 'https://gatehouse.test'),
      ),
      'CF-Connecting-IP': headerText,
      'X-Forwarded-For': headerText,
      'User-Agent': headerText,
      Accept: headerText,
      'Access-Control-Request-Method': headerText,
    },
    { requiredKeys: [] },
  )
  .map((headers) => headers as Record<string, string>);

interface PathPlan {
  path: string;
  refused: boolean;
  note: string;
}

function pathFor(route: Route, context: FamilyContext): fc.Arbitrary<PathPlan> {
  const names = [...route.path.matchAll(/:([A-Za-z_]+)/g)].map((m) => m[1]!);
  const values = fc.tuple(
    ...names.map((name) =>
      fc.oneof(
        { weight: 4, arbitrary: context.params?.[name] ?? fc.uuid() },
        { weight: 1, arbitrary: oddText.map((t) => safeEncode(t.slice(0, 200)) || 'x') },
      ),
    ),
  );
  const base = values.map((vals) => {
    let path = route.path;
    names.forEach((name, i) => (path = path.replace(`:${name}`, vals[i]!)));
    return `${context.prefix}${path}`;
  });
  return fc.oneof(
    { weight: 3, arbitrary: base.map((path) => ({ path, refused: false, note: '' })) },
    // Percent junk in one segment (the tenant slug and fixed segments too).
    {
      weight: 2,
      arbitrary: fc
        .tuple(base, segmentJunk, fc.nat(), fc.boolean())
        .map(([path, junk, at, replace]) => {
          const segments = path.split('/');
          const i = 1 + (at % (segments.length - 1));
          segments[i] = replace ? junk.text : `${segments[i]}${junk.text}`;
          return { path: segments.join('/'), refused: true, note: `segment ${i} ${junk.text}` };
        }),
    },
    // A query the boundary refuses: an escape that does not decode, or a control character.
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          base,
          fc.oneof(
            fc.constantFrom('a=%', 'a=%ff', '%zz=1', 'search=%00', 'type=%0d%0a', 'q=%ed%a0%80'),
            fc
              .integer({ min: 0, max: 0x1f })
              .map((code) => `search=a%${code.toString(16).padStart(2, '0')}`),
          ),
        )
        .map(([path, query]) => ({
          path: `${path}?${query}`,
          refused: true,
          note: `query ${query}`,
        })),
    },
    // A query that decodes but is odd: negative limits, arrays, huge values.
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          base,
          fc.dictionary(
            fc.constantFrom(
              'limit',
              'offset',
              'search',
              'cursor',
              'type',
              'user_id',
              'since',
              'until',
              'x',
            ),
            oddText.map((t) => t.slice(0, 500)),
            { maxKeys: 4 },
          ),
        )
        .map(([path, query]) => ({
          path: `${path}?${new URLSearchParams(query as Record<string, string>).toString()}`,
          refused: false,
          note: 'odd query',
        })),
    },
  );
}

/**
 * One request for one route. Every request that could write carries a defect the service must
 * refuse before any work (mustRefuse); only reads (GET) and requests without valid credentials
 * to a credentialed route go without one.
 */
export function requestFor(routes: Route[], context: FamilyContext): fc.Arbitrary<FuzzRequest> {
  return fc.constantFrom(...routes).chain((route) => {
    const wrong = wrongMethods(route);
    return fc
      .record({
        path: pathFor(route, context),
        method: fc.oneof(
          { weight: 4, arbitrary: fc.constant(route.method.toUpperCase()) },
          { weight: 1, arbitrary: fc.constantFrom(...wrong) },
        ),
        auth: fc.oneof(
          {
            weight: 3,
            arbitrary: fc.constantFrom(...context.validAuth).map((h) => ({ h, valid: true })),
          },
          { weight: 1, arbitrary: fc.constant({ h: {}, valid: false }) },
          { weight: 2, arbitrary: junkAuth(context.cookieName).map((h) => ({ h, valid: false })) },
        ),
        extra: extraHeaders,
        body: refusedBody(route.shape),
        // A body on a route that takes none: junk the service must not choke on.
        strayBody: fc.option(oddText, { nil: undefined }),
      })
      .map(({ path, method, auth, extra, body, strayBody }) => {
        const isRouteMethod = method === route.method.toUpperCase();
        const hasBody = route.body !== undefined || route.bodyMediaType !== undefined;
        // A method no route serves is refused, except OPTIONS: a CORS preflight may answer 204.
        let refused =
          path.refused || (!isRouteMethod && method !== 'OPTIONS') || (isRouteMethod && hasBody);
        if (
          !refused &&
          isRouteMethod &&
          method !== 'GET' &&
          (auth.valid || route.auth === 'none')
        ) {
          // Could do real work: give it a defect the boundary refuses.
          path = {
            path: `${path.path}${path.path.includes('?') ? '&' : '?'}a=%00`,
            refused: true,
            note: 'query a=%00',
          };
          refused = true;
        }
        // Without valid credentials a credentialed route may still answer 2xx (logout is
        // idempotent); the row snapshot proves it did nothing.
        const headers: Record<string, string> = { ...extra, ...(isRouteMethod ? auth.h : {}) };
        if (!isRouteMethod && !auth.valid) Object.assign(headers, auth.h);
        const canHaveBody = method !== 'GET' && method !== 'HEAD';
        let payload: BodyInit | undefined;
        if (canHaveBody && hasBody) {
          payload = body.body ?? undefined;
          if (body.contentType !== null) headers['Content-Type'] = body.contentType;
        } else if (canHaveBody && strayBody !== undefined) {
          payload = strayBody;
          headers['Content-Type'] = 'application/json';
        }
        const label = `${path.refused ? 'path' : hasBody && isRouteMethod ? body.kind : isRouteMethod ? 'plain' : 'wrong-method'} ${method} ${path.path.slice(0, 200)} ${path.note} auth=${auth.valid ? 'valid' : Object.keys(auth.h).join(',') || 'none'}`;
        return {
          label,
          mustRefuse: refused,
          build: () =>
            new Request(`https://gatehouse.test${path.path}`, { method, headers, body: payload }),
        };
      });
  });
}
