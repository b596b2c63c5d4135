import { AppError } from '../../errors.ts';
import type { AuditEvent } from '../audit/events.ts';
import type { OAuthClient } from '../clients/repo.ts';
import type { ClientInfo } from '../sessions/service.ts';

export interface OAuthTokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
  id_token?: string;
  refresh_token?: string;
}

export function invalidGrant(
  description = 'the grant is invalid, expired or already used',
): AppError {
  return new AppError('invalid_grant', description);
}

export function tokenAudit(
  tenantId: string,
  client: OAuthClient,
  actor: AuditEvent['actor'],
  now: Date,
  info: ClientInfo,
  details: Record<string, unknown>,
  type: AuditEvent['type'] = 'oauth.token',
): AuditEvent {
  return {
    tenantId,
    type,
    actor,
    target: { type: 'oauth_client', id: client.id },
    ip: info.ip,
    userAgent: info.userAgent,
    details: { client_id: client.clientId, ...details },
    at: now,
  };
}
