// The doctor's one writing check: the seed's smoke flow (register, session, logout, session
// refused) on a throwaway account, its Set-Cookie flags checked, the account then deleted
// through the admin API with the operator's key.
import { randomBytes } from 'node:crypto';
import { isLoopback, type CheckResult, type Probe } from './checks.ts';

interface CookieLine {
  name: string;
  value: string;
  attributes: Map<string, string>;
}

function parseSetCookie(line: string): CookieLine {
  const [pair = '', ...rest] = line.split(';');
  const index = pair.indexOf('=');
  const attributes = new Map<string, string>();
  for (const attribute of rest) {
    const [key = '', ...value] = attribute.trim().split('=');
    attributes.set(key.toLowerCase(), value.join('='));
  }
  return { name: pair.slice(0, index).trim(), value: pair.slice(index + 1).trim(), attributes };
}

/** What is wrong with a session cookie's flags; empty when nothing is. */
export function cookieProblems(cookie: CookieLine, https: boolean): string[] {
  const problems: string[] = [];
  if (!cookie.attributes.has('httponly')) problems.push(`${cookie.name} without HttpOnly`);
  const sameSite = cookie.attributes.get('samesite')?.toLowerCase();
  if (sameSite === undefined) problems.push(`${cookie.name} without SameSite`);
  if (https && !cookie.attributes.has('secure')) problems.push(`${cookie.name} without Secure`);
  if (sameSite === 'none' && !cookie.attributes.has('secure'))
    problems.push(`${cookie.name} SameSite=None without Secure`);
  return problems;
}

export async function checkCookies(probe: Probe): Promise<CheckResult> {
  const name = 'cookies';
  const { apiKey, tenant } = probe.options;
  if (apiKey === null || tenant === null)
    return { name, verdict: 'yellow', detail: 'skipped: read-only; pass --api-key and --tenant' };
  const url = new URL(probe.base);
  const https = url.protocol === 'https:';
  const email = `doctor-${randomBytes(6).toString('hex')}@example.com`;
  const password = randomBytes(18).toString('base64url');
  const registered = await probe.fetch(`${probe.tenantBase}/v1/auth/register`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  const body = (await registered.json().catch(() => null)) as {
    user?: { id?: string };
    error?: string;
  } | null;
  if (registered.status !== 201 || typeof body?.user?.id !== 'string')
    return {
      name,
      verdict: registered.status === 403 ? 'yellow' : 'red',
      detail: `register answered ${registered.status}${body?.error ? ` (${body.error})` : ''}`,
    };
  const userId = body.user.id;
  let verdict: CheckResult;
  try {
    verdict = await smokeFlow(probe, registered, https);
  } finally {
    // Whatever the flow found, the throwaway account does not stay.
    const deleted = await probe.fetch(
      `${probe.base}/admin/api/v1/tenants/${encodeURIComponent(tenant)}/users/${userId}`,
      { method: 'DELETE', headers: { Authorization: `Bearer ${apiKey}` } },
    );
    if (deleted.status !== 200)
      verdict = {
        name,
        verdict: 'red',
        detail: `throwaway user ${userId} NOT deleted (admin API answered ${deleted.status}; the key needs users:write)`,
      };
  }
  return verdict;
}

async function smokeFlow(probe: Probe, registered: Response, https: boolean): Promise<CheckResult> {
  const name = 'cookies';
  const cookies = registered.headers.getSetCookie().map(parseSetCookie);
  const session = cookies.find((cookie) => cookie.value !== '');
  if (session === undefined)
    return {
      name,
      verdict: 'yellow',
      detail: 'no session at sign-up (email verification required?)',
    };
  const problems = cookieProblems(session, https);
  const jar = { Cookie: `${session.name}=${session.value}` };
  const before = await probe.fetch(`${probe.tenantBase}/v1/auth/session`, { headers: jar });
  if (before.status !== 200) problems.push(`session with the cookie answered ${before.status}`);
  const logout = await probe.fetch(`${probe.tenantBase}/v1/auth/logout`, {
    method: 'POST',
    headers: jar,
  });
  if (logout.status >= 300) problems.push(`logout answered ${logout.status}`);
  const after = await probe.fetch(`${probe.tenantBase}/v1/auth/session`, { headers: jar });
  if (after.status !== 401) problems.push(`session after logout answered ${after.status}`);
  if (problems.length > 0) return { name, verdict: 'red', detail: problems.join('; ') };
  const flags = [...session.attributes.keys()].filter((key) =>
    ['httponly', 'secure', 'samesite'].includes(key),
  );
  const note =
    !https && isLoopback(new URL(probe.base)) && !session.attributes.has('secure')
      ? ' (no Secure: loopback http)'
      : '';
  return {
    name,
    verdict: 'green',
    detail: `smoke flow passed; ${session.name}: ${flags.join(', ')}${note}; throwaway user deleted`,
  };
}
