// Issue 5, item 1: whom a rate limit counts. The client address comes from CF-Connecting-IP, or
// from X-Forwarded-For only as far as TRUSTED_PROXY_HOPS trusts it; IPv6 clients count by /64.
// Policy names are unique and well-formed.
import { describe, expect, it } from 'vitest';
import { clientIP, ipSubject } from '../../src/features/ratelimit/client-ip.ts';
import { findPolicy, listPolicies, registerPolicy } from '../../src/features/ratelimit/policies.ts';

function headers(values: Record<string, string>): Headers {
  return new Headers(values);
}

describe('clientIP', () => {
  it('uses CF-Connecting-IP and ignores X-Forwarded-For by default', () => {
    const h = headers({ 'CF-Connecting-IP': '198.51.100.7', 'X-Forwarded-For': '192.0.2.1' });
    expect(clientIP(h, 0)).toBe('198.51.100.7');
  });

  it('is null without CF-Connecting-IP', () => {
    expect(clientIP(headers({ 'X-Forwarded-For': '192.0.2.1' }), 0)).toBeNull();
  });

  it('takes the entry left of our trusted proxies, never one the client wrote further left', () => {
    // client forged 6.6.6.6; the real client is 192.0.2.1; our proxy 198.51.100.7 reached Cloudflare.
    const h = headers({
      'CF-Connecting-IP': '198.51.100.7',
      'X-Forwarded-For': '6.6.6.6, 192.0.2.1, 198.51.100.7',
    });
    expect(clientIP(h, 1)).toBe('192.0.2.1');
    expect(clientIP(h, 2)).toBe('6.6.6.6');
  });

  it('falls back to CF-Connecting-IP when the chain is shorter than the trusted hops', () => {
    const h = headers({ 'CF-Connecting-IP': '198.51.100.7', 'X-Forwarded-For': '198.51.100.7' });
    expect(clientIP(h, 1)).toBe('198.51.100.7');
  });
});

describe('ipSubject', () => {
  it('keeps an IPv4 address whole', () => {
    expect(ipSubject('203.0.113.9')).toBe('203.0.113.9');
  });

  it('counts IPv6 by its /64, however it is written', () => {
    const a = ipSubject('2001:db8:1:2:aaaa:bbbb:cccc:dddd');
    expect(a).toBe('2001:db8:1:2::/64');
    expect(ipSubject('2001:0db8:0001:0002::1')).toBe(a);
    expect(ipSubject('2001:DB8:1:2::ffff')).toBe(a);
    expect(ipSubject('2001:db8:1:3::1')).not.toBe(a);
    expect(ipSubject('::1')).toBe('0:0:0:0::/64');
  });

  it('reads an IPv4-mapped IPv6 address as the IPv4 address', () => {
    expect(ipSubject('::ffff:203.0.113.9')).toBe('203.0.113.9');
  });
});

describe('policy registry', () => {
  it('holds the defaults of issue 5, credential endpoints failing closed', () => {
    const summary = Object.fromEntries(
      listPolicies().map((p) => [p.name, [p.limit, p.windowSeconds, p.onUnavailable]]),
    );
    expect(summary).toMatchObject({
      'login.ip': [5, 60, 'closed'],
      'login.account': [10, 3600, 'closed'],
      'register.ip': [3, 3600, 'closed'],
      'token.refresh': [60, 60, 'closed'],
      'admin.write': [60, 60, 'open'],
    });
  });

  it('lets a later endpoint register its own policy, once', () => {
    const policy = registerPolicy({
      name: 'test.password_reset',
      limit: 3,
      windowSeconds: 900,
      onUnavailable: 'closed',
      per: 'account',
    });
    expect(findPolicy('test.password_reset')).toBe(policy);
    expect(() => registerPolicy({ ...policy })).toThrow(/registered twice/);
    expect(() => registerPolicy({ ...policy, name: 'NoDots' })).toThrow(/dotted/);
    expect(() => registerPolicy({ ...policy, name: 'test.zero', limit: 0 })).toThrow(/positive/);
  });
});
