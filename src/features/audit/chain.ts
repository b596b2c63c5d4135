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
  /** Random per event (v2): what makes the commitment unguessable. Null once erased. */
  personalSalt?: string | null;
  /** SHA-256 of the salt and the personal fields (v2), set by the sealer; null on v1 links. */
  personalCommitment?: string | null;
  /** 2: personal fields are covered through `personalCommitment`. null or 1: the v1 rule. */
  linkVersion?: number | null;
}

/**
 * Keys of `details` that hold personal data. Since link v2 they sit under the commitment, not the
 * MAC, so erasure can remove them. New events must put personal data only under these keys.
 */
export const PERSONAL_DETAIL_KEYS = ['email', 'user_id'] as const;

/** The personal part of an event: what erasure removes and the commitment covers. */
export function personalFields(event: ChainedEvent): unknown[] {
  const details = (event.details ?? {}) as Record<string, unknown>;
  return [
    event.ip,
    event.userAgent,
    event.actorType === 'user' ? event.actorId : null,
    event.targetType === 'user' ? event.targetId : null,
    PERSONAL_DETAIL_KEYS.map((key) => details[key] ?? null),
  ];
}

/** True when nothing personal is left on the event (it was erased, or never had any). */
export function hasNoPersonalFields(event: ChainedEvent): boolean {
  return personalFields(event)
    .flat()
    .every((value) => value === null || value === undefined);
}

/** base64url SHA-256 over the salt and the personal fields: binds them without revealing them. */
export async function personalCommitment(event: ChainedEvent, salt: string): Promise<string> {
  const content = canonicalJSON([salt, ...personalFields(event)]);
  const digest = await crypto.subtle.digest('SHA-256', utf8.encode(content) as BufferSource);
  return encodeBase64url(new Uint8Array(digest));
}

function withoutPersonalDetails(details: unknown): unknown {
  if (details === null || typeof details !== 'object' || Array.isArray(details)) return details;
  const kept = { ...(details as Record<string, unknown>) };
  for (const key of PERSONAL_DETAIL_KEYS) delete kept[key];
  return kept;
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

/**
 * MAC of one link. v1 (links sealed before personal data could be erased): every field of the
 * event. v2: every non-personal field and the commitment to the personal ones, so erasing the
 * personal fields and the salt leaves the MAC checkable. Both cover the position and previous MAC.
 */
export async function linkMAC(
  key: CryptoKey,
  chainId: string,
  seq: number,
  prevMac: string,
  event: ChainedEvent,
): Promise<string> {
  if (event.linkVersion === 2) {
    const v2 = canonicalJSON([
      'v2',
      chainId,
      seq,
      prevMac,
      event.id,
      event.tenantId,
      event.type,
      event.actorType,
      event.actorType === 'user' ? null : event.actorId,
      event.targetType,
      event.targetType === 'user' ? null : event.targetId,
      event.requestId,
      event.createdAt.toISOString(),
      withoutPersonalDetails(event.details),
      event.personalCommitment ?? null,
    ]);
    const mac = await crypto.subtle.sign('HMAC', key, utf8.encode(v2) as BufferSource);
    return encodeBase64url(new Uint8Array(mac));
  }
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
