import type { RouteDoc } from '../../http/openapi.ts';
import { testMailRequestSchema, testMailResponseSchema } from './routes.ts';

export const mailDocs: RouteDoc[] = [
  {
    method: 'post',
    path: '/admin/api/v1/tenants/:slug/mail/test',
    summary:
      "Send a test message now through the tenant's mail route (its own SMTP server, else SMTP_URL) and report the server's answer (tenants:write)",
    tag: 'tenants',
    auth: 'admin',
    body: testMailRequestSchema,
    responses: {
      200: {
        description:
          'sent (`delivered: true`, the answer to DATA) or refused (`delivered: false`, the answer and whether retrying could help)',
        schema: testMailResponseSchema,
      },
      400: { description: '`invalid_request`: `to` is not a plain address' },
      401: { description: 'no valid credential' },
      403: { description: '`insufficient_scope`' },
      404: { description: '`unknown_tenant`' },
    },
  },
];
