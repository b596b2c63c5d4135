import { z } from 'zod';
import type { RouteDoc } from '../../http/openapi.ts';
import {
  apiKeySchema,
  apiKeyResponseSchema,
  createAPIKeyRequestSchema,
  createAPIKeyResponseSchema,
} from '../apikeys/routes.ts';
import {
  bootstrapRequestSchema,
  bootstrapResponseSchema,
  changePasswordRequestSchema,
  createOperatorRequestSchema,
  loginRequestSchema,
  loginResponseSchema,
  meResponseSchema,
  operatorListResponseSchema,
  operatorSchema,
  operatorSessionsResponseSchema,
  recoverRequestSchema,
  recoveryCodesRequestSchema,
  recoveryCodesResponseSchema,
  statusResponseSchema,
} from '../operators/routes.ts';
import { pageQuerySchema, pageSchema } from './pagination.ts';
import {
  createTenantRequestSchema,
  deleteTenantRequestSchema,
  rotateSigningKeyRequestSchema,
  rotateSigningKeyResponseSchema,
  signingKeyListResponseSchema,
  tenantResponseSchema,
  tenantSchema,
  updateTenantRequestSchema,
} from './tenants-routes.ts';
import {
  createUserRequestSchema,
  revokeUserSessionsResponseSchema,
  setUserPasswordRequestSchema,
  updateUserRequestSchema,
  userErasedResponseSchema,
  userExportResponseSchema,
  userResponseSchema,
  userSchema,
  userSessionListResponseSchema,
} from './users-routes.ts';

const A = '/admin/api/v1';
type Row = [
  RouteDoc['method'],
  string,
  string,
  z.ZodType | undefined,
  z.ZodType | undefined,
  RouteDoc['auth']?,
];

const RATE_LIMITED: RouteDoc['responses'] = { 429: { description: '`rate_limited`' } };

/** Compact rows: method, path, summary, request body, 2xx body, credential (default admin). */
function rows(tag: string, list: Row[], query?: z.ZodObject): RouteDoc[] {
  return list.map(([method, path, summary, body, response, auth]) => ({
    method,
    path: `${A}${path}`,
    summary,
    tag,
    auth: auth ?? 'admin',
    ...(body === undefined ? {} : { body }),
    ...(query !== undefined && method === 'get' && response !== undefined && path.endsWith('s')
      ? { query }
      : {}),
    responses: {
      [method === 'post' && /\/(operators|api-keys|tenants|users)$/.test(path) ? 201 : 200]: {
        description: 'success',
        ...(response === undefined ? {} : { schema: response }),
      },
      401: { description: 'no valid credential' },
      403: { description: '`insufficient_scope`' },
      404: { description: 'unknown, or bound to another tenant' },
      // Sign-in, recovery and bootstrap draw on the operator_auth budgets (admin writes get
      // their 429 from the document builder).
      ...(auth === 'none' ? RATE_LIMITED : {}),
    },
  }));
}

export const adminDocs: RouteDoc[] = [
  ...rows('operators', [
    [
      'post',
      '/bootstrap',
      'Create the first owner with the one-time bootstrap code',
      bootstrapRequestSchema,
      bootstrapResponseSchema,
      'none',
    ],
    [
      'post',
      '/auth/login',
      'Operator sign-in (SameSite=Strict session cookie)',
      loginRequestSchema,
      loginResponseSchema,
      'none',
    ],
    [
      'post',
      '/recover',
      'Reset the password with a recovery code (invalidates the rest, revokes sessions)',
      recoverRequestSchema,
      statusResponseSchema,
      'none',
    ],
    ['post', '/auth/logout', 'Operator sign-out', undefined, statusResponseSchema],
    ['get', '/me', 'The signed-in operator', undefined, meResponseSchema],
    [
      'post',
      '/me/password',
      'Change the operator password',
      changePasswordRequestSchema,
      statusResponseSchema,
    ],
    [
      'post',
      '/me/recovery-codes',
      'New recovery codes (needs the current password)',
      recoveryCodesRequestSchema,
      recoveryCodesResponseSchema,
    ],
    ['get', '/me/sessions', "The operator's sessions", undefined, operatorSessionsResponseSchema],
    ['delete', '/me/sessions/:id', 'Revoke an operator session', undefined, statusResponseSchema],
    ['get', '/operators', 'List operators', undefined, operatorListResponseSchema],
    [
      'post',
      '/operators',
      'Create an operator (owners only)',
      createOperatorRequestSchema,
      z.object({ operator: operatorSchema }),
    ],
  ]),
  ...rows('api keys', [
    [
      'post',
      '/api-keys',
      'Create an API key (the secret is shown once)',
      createAPIKeyRequestSchema,
      createAPIKeyResponseSchema,
    ],
    [
      'get',
      '/api-keys',
      'List API keys',
      undefined,
      z.object({ items: z.array(apiKeySchema) }).catchall(z.unknown()),
    ],
    ['delete', '/api-keys/:id', 'Revoke an API key', undefined, apiKeyResponseSchema],
  ]),
  ...rows(
    'tenants',
    [
      [
        'post',
        '/tenants',
        'Create a tenant with its first signing key',
        createTenantRequestSchema,
        tenantResponseSchema,
      ],
      ['get', '/tenants', 'List tenants', undefined, pageSchema(tenantSchema)],
      ['get', '/tenants/:slug', 'Get a tenant', undefined, tenantResponseSchema],
      [
        'patch',
        '/tenants/:slug',
        'Update settings, CORS origins, hostnames, registration',
        updateTenantRequestSchema,
        tenantResponseSchema,
      ],
      [
        'delete',
        '/tenants/:slug',
        'Delete a tenant (repeat the slug to confirm)',
        deleteTenantRequestSchema,
        statusResponseSchema,
      ],
      [
        'get',
        '/tenants/:slug/signing-keys',
        'List signing keys',
        undefined,
        signingKeyListResponseSchema,
      ],
      [
        'post',
        '/tenants/:slug/signing-keys/rotate',
        'Make a new key active; the old one stays published',
        rotateSigningKeyRequestSchema,
        rotateSigningKeyResponseSchema,
      ],
      [
        'post',
        '/tenants/:slug/signing-keys/:kid/retire',
        'Retire a published key',
        undefined,
        statusResponseSchema,
      ],
    ],
    pageQuerySchema,
  ),
  ...rows(
    'users',
    [
      ['get', '/tenants/:slug/users', 'List and search users', undefined, pageSchema(userSchema)],
      [
        'post',
        '/tenants/:slug/users',
        'Create a user',
        createUserRequestSchema,
        userResponseSchema,
      ],
      ['get', '/tenants/:slug/users/:id', 'Get a user', undefined, userResponseSchema],
      [
        'patch',
        '/tenants/:slug/users/:id',
        'Update a user',
        updateUserRequestSchema,
        userResponseSchema,
      ],
      [
        'post',
        '/tenants/:slug/users/:id/disable',
        'Disable a user (revokes sessions)',
        undefined,
        userResponseSchema,
      ],
      ['post', '/tenants/:slug/users/:id/enable', 'Enable a user', undefined, userResponseSchema],
      [
        'delete',
        '/tenants/:slug/users/:id',
        'Erase a user (as DELETE /v1/auth/me: audit events keep no personal data)',
        undefined,
        userErasedResponseSchema,
      ],
      [
        'get',
        '/tenants/:slug/users/:id/export',
        'Export everything held about a user',
        undefined,
        userExportResponseSchema,
      ],
      [
        'put',
        '/tenants/:slug/users/:id/password',
        "Set a user's password",
        setUserPasswordRequestSchema,
        statusResponseSchema,
      ],
      [
        'get',
        '/tenants/:slug/users/:id/sessions',
        "List a user's sessions",
        undefined,
        userSessionListResponseSchema,
      ],
      [
        'post',
        '/tenants/:slug/users/:id/sessions/revoke',
        "Revoke all of a user's sessions",
        undefined,
        revokeUserSessionsResponseSchema,
      ],
    ],
    pageQuerySchema,
  ),
  ...rows('backups', [
    [
      'post',
      '/tenants/:slug/export',
      'Export the tenant as an encrypted bkp1 archive (backups:export)',
      z.object({ passphrase: z.string().min(16) }),
      undefined,
    ],
    [
      'post',
      '/tenants/import',
      'Import a bkp1 archive (multipart: file, passphrase, slug?) (backups:import)',
      undefined,
      undefined,
    ],
    ['get', '/backups', 'Last scheduled backup of each tenant', undefined, undefined],
    ['get', '/tenants/:slug/backups', "A tenant's scheduled backups in R2", undefined, undefined],
  ]),
];
