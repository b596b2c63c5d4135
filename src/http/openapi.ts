import { z } from 'zod';

/**
 * One documented route. Features export a list of these next to their routers, built from the
 * same zod schemas the handlers validate with; `buildOpenAPIDocument` turns them into OpenAPI 3.1
 * (whose schema dialect is JSON Schema 2020-12, what zod emits). A test checks both directions:
 * every served route is documented and every documented route is served.
 */
export interface RouteDoc {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** Hono path syntax (`/users/:id`); turned into `{id}` in the document. */
  path: string;
  summary: string;
  tag: string;
  /** Which credential the route takes; `none` for public routes. */
  auth: 'none' | 'session' | 'session_or_bearer' | 'admin';
  body?: z.ZodType;
  /** For multipart uploads and other non-JSON bodies. */
  bodyMediaType?: string;
  query?: z.ZodObject;
  responses: Record<number, { description: string; schema?: z.ZodType; mediaType?: string }>;
}

export const errorSchema = z
  .object({
    error: z.string().describe('stable error code'),
    error_description: z.string(),
  })
  .catchall(z.unknown());

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const json = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  delete json.$schema; // the document's dialect already says which JSON Schema this is
  return json;
}

export function openAPIPath(path: string): string {
  return path.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}');
}

const SECURITY: Record<RouteDoc['auth'], Record<string, string[]>[]> = {
  none: [],
  session: [{ sessionCookie: [] }],
  session_or_bearer: [{ sessionCookie: [] }, { bearerAccessToken: [] }],
  admin: [{ operatorSession: [] }, { apiKey: [] }],
};

export function buildOpenAPIDocument(
  routes: RouteDoc[],
  options: { serverURL: string },
): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = openAPIPath(route.path);
    const parameters: unknown[] = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    if (route.query !== undefined) {
      const schema = jsonSchema(route.query, 'input') as {
        properties?: Record<string, unknown>;
        required?: string[];
      };
      for (const [name, property] of Object.entries(schema.properties ?? {})) {
        parameters.push({
          name,
          in: 'query',
          required: schema.required?.includes(name) ?? false,
          schema: property,
        });
      }
    }
    const responses: Record<string, unknown> = {};
    for (const [status, response] of Object.entries(route.responses)) {
      responses[status] = {
        description: response.description,
        ...(response.schema === undefined
          ? {}
          : {
              content: {
                [response.mediaType ?? 'application/json']: {
                  schema: jsonSchema(response.schema, 'output'),
                },
              },
            }),
      };
    }
    if (route.auth === 'admin' && route.method !== 'get' && responses[429] === undefined) {
      responses[429] = {
        description: '`rate_limited`: admin writes, 60 a minute per key or operator',
      };
    }
    responses.default = {
      description: 'Error: `{error, error_description}` with a stable code',
      content: { 'application/json': { schema: jsonSchema(errorSchema, 'output') } },
    };
    paths[path] ??= {};
    paths[path][route.method] = {
      summary: route.summary,
      tags: [route.tag],
      operationId: `${route.method}${path.replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ?? '').toUpperCase())}`,
      security: SECURITY[route.auth],
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(route.body === undefined
        ? {}
        : {
            requestBody: {
              required: true,
              content: {
                [route.bodyMediaType ?? 'application/json']: {
                  schema: jsonSchema(route.body, 'input'),
                },
              },
            },
          }),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Gatehouse',
      version: '1',
      description:
        'Multi-tenant authentication. End-user routes are served per tenant under `/t/{slug}` and, for the default ' +
        'tenant or a custom hostname, at the root. Errors are always `{"error": code, "error_description": text}`.',
    },
    servers: [{ url: options.serverURL }],
    components: {
      securitySchemes: {
        sessionCookie: { type: 'apiKey', in: 'cookie', name: '__Host-gatehouse_<slug>' },
        bearerAccessToken: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        operatorSession: { type: 'apiKey', in: 'cookie', name: '__Host-gatehouse_admin' },
        apiKey: { type: 'http', scheme: 'bearer', description: 'An admin API key' },
      },
    },
    paths,
  };
}
