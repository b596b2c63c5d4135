import { encodeBase64url, utf8 } from '../../lib/encoding.ts';

/** The chain of deployment-wide events (tenant_id null) has this id. */
export const GLOBAL_CHAIN = '00000000-0000-0000-0000-000000000000';

export interface ChainedEvent {
  id: string;
  tenantId: string | null;
  type: string;
  actorType: string;
  actorId: string | null;
  targetType: string | null;
  targetId: string | null;
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
  createdAt: Date;
  details: unknown;
}

/** JSON with object keys sorted at every depth: the same value always gives the same bytes. */
export function canonicalJSON(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJSON).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJSON(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/** MAC of one link: covers every field of the event, its position and the previous MAC. */
export async function linkMAC(
  key: CryptoKey,
  chainId: string,
  seq: number,
  prevMac: string,
  event: ChainedEvent,
): Promise<string> {
  const content = canonicalJSON([
    chainId,
    seq,
    prevMac,
    event.id,
    event.tenantId,
    event.type,
    event.actorType,
    event.actorId,
    event.targetType,
    event.targetId,
    event.ip,
    event.userAgent,
    event.requestId,
    event.createdAt.toISOString(),
    event.details,
  ]);
  const mac = await crypto.subtle.sign('HMAC', key, utf8.encode(content) as BufferSource);
  return encodeBase64url(new Uint8Array(mac));
}
