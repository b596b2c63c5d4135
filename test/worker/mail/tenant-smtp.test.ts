// Issue 12, per-tenant SMTP: settings.mail through the admin API (password sealed, write-only,
// absent from answers, logs and errors), used instead of SMTP_URL with a login the test server
// checks; and POST /tenants/{slug}/mail/test, which reports the server's own answer.
import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test';
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import type { QueuedMail } from '../../../src/features/mail/mailer.ts';
import { handleMailBatch, type DeadMail } from '../../../src/features/mail/queue.ts';
import { ADMIN, bearer, makeKey, makeOperator } from '../admin/fixtures.ts';
import { makeTenant, testDB, type TestTenant } from '../fixtures.ts';
import { jsonRequest, send, testEnv, withinInvocationLimits, type Sent } from '../harness.ts';
import { requireSMTPAuth, smtpAuthAttempts, uniqueRecipient, waitForMail } from './inbox.ts';

const SMTP_PORT = Number(new URL(testEnv.SMTP_URL!.replace(/^smtp:/, 'http:')).port);

let key: string;

beforeAll(async () => {
  key = (await makeKey(await makeOperator())).key;
});

function admin(path: string, method: string, body?: unknown): Promise<Sent> {
  return send(
    `${ADMIN}${path}`,
    body === undefined ? { method, headers: bearer(key) } : jsonRequest(method, body, bearer(key)),
  );
}

interface Login {
  username: string;
  password: string;
}

function uniqueLogin(): Login {
  const id = crypto.randomUUID().slice(0, 8);
  return { username: `tenant-${id}`, password: `pw-${crypto.randomUUID()}` };
}

/** A tenant with its own SMTP settings (the test server, its own login), set over the admin API. */
async function tenantWithSMTP(
  login: Login,
  extra: Record<string, unknown> = {},
): Promise<{ tenant: TestTenant; sent: Sent }> {
  const tenant = await makeTenant();
  const sent = await admin(`/tenants/${tenant.slug}`, 'PATCH', {
    settings: {
      mail: {
        host: '127.0.0.1',
        port: SMTP_PORT,
        tls: 'none',
        username: login.username,
        password: login.password,
        from: 'Tenant Mail <mail@tenant.example>',
        reply_to: 'help@tenant.example',
        ...extra,
      },
    },
  });
  return { tenant, sent };
}

function batchFor(tenantId: string, to: string): MessageBatch<unknown> {
  const body: QueuedMail = {
    v: 1,
    queuedAt: new Date().toISOString(),
    message: {
      tenantId,
      to,
      subject: 'Your code',
      text: 'Code 123456',
      html: '<p>Code 123456</p>',
      kind: 'email_otp',
    },
  };
  return createMessageBatch('gatehouse-mail', [
    { id: crypto.randomUUID(), timestamp: new Date(), attempts: 1, body },
  ]);
}

/** A queue binding that keeps what is sent to it. */
function recordingQueue(): { queue: Queue<unknown>; sent: unknown[] } {
  const sent: unknown[] = [];
  return {
    queue: { send: async (body: unknown) => void sent.push(body) } as unknown as Queue<unknown>,
    sent,
  };
}

describe('tenant SMTP settings', () => {
  it('seals the password: write-only, shown as password_set, absent from answers and logs', async () => {
    const login = uniqueLogin();
    const { tenant, sent } = await tenantWithSMTP(login);
    expect(sent.response.status).toBe(200);
    const body = await sent.json<{ tenant: { settings: { mail: Record<string, unknown> } } }>();
    expect(body.tenant.settings.mail).toMatchObject({
      host: '127.0.0.1',
      port: SMTP_PORT,
      tls: 'none',
      username: login.username,
      password_set: true,
      from: 'Tenant Mail <mail@tenant.example>',
      reply_to: 'help@tenant.example',
    });
    expect(JSON.stringify(body)).not.toContain(login.password);
    expect(sent.logs.join('\n')).not.toContain(login.password);
    // The tenant is looked up for its id (the seal's binding), then updated: one round trip more.
    expect(await sent.roundTrips()).toBe(3);

    const got = await admin(`/tenants/${tenant.slug}`, 'GET');
    const text = JSON.stringify(await got.json());
    expect(text).toContain('"password_set":true');
    expect(text).not.toContain(login.password);

    const stored = await testDB().execute(
      sql`select smtp_password_sealed as s, settings::text as settings from tenants where id = ${tenant.id}::uuid`,
    );
    const row = stored.rows[0]!;
    expect(String(row.s)).toMatch(/^v2\./);
    expect(String(row.s)).not.toContain(login.password);
    expect(String(row.settings)).not.toContain(login.password);

    const cleared = await admin(`/tenants/${tenant.slug}`, 'PATCH', {
      settings: { mail: { password: null, host: null } },
    });
    const after = await cleared.json<{ tenant: { settings: { mail: Record<string, unknown> } } }>();
    expect(after.tenant.settings.mail).toMatchObject({
      password_set: false,
      host: null,
      port: SMTP_PORT,
    });
  });

  it('refuses header-unsafe senders and unknown fields, writing nothing', async () => {
    const tenant = await makeTenant();
    const storedMail = async (): Promise<unknown> =>
      (
        await testDB().execute(
          sql`select coalesce(settings->'mail', '{}'::jsonb)::text as mail from tenants where id = ${tenant.id}::uuid`,
        )
      ).rows[0]!.mail;
    const before = await storedMail();
    for (const mail of [
      { from: 'Evil\r\nBcc: victim@example.com <a@b.example>' },
      { reply_to: 'a@b.example\r\nBcc: victim@example.com' },
      { from: 'Qu"oted <a@b.example>' },
      { tls: 'maybe' },
      { username: 'user\r\nRCPT TO:<x@y.example>' },
      { secret: 'x' },
    ]) {
      const sent = await admin(`/tenants/${tenant.slug}`, 'PATCH', { settings: { mail } });
      expect(sent.response.status, JSON.stringify(mail)).toBe(400);
      // A line break is refused at the boundary, before the field's own rule (src/http/text.ts).
      const hasLineBreak = Object.values(mail).some((v) => /[\r\n]/.test(String(v)));
      const code = hasLineBreak ? 'invalid_characters' : 'invalid_request';
      expect(await sent.json()).toMatchObject({ error: code });
    }
    expect(await storedMail()).toBe(before);
  });

  it("sends a tenant's mail through its own server, logged in with its own username and password", async () => {
    const login = uniqueLogin();
    await requireSMTPAuth(login);
    const { tenant } = await tenantWithSMTP(login);
    const to = uniqueRecipient();
    const batch = batchFor(tenant.id, to);
    const ctx = createExecutionContext();
    await withinInvocationLimits(() => handleMailBatch(batch, testEnv, ctx));
    expect((await getQueueResult(batch, ctx)).explicitAcks).toHaveLength(1);
    const mail = await waitForMail({ to });
    expect(mail.user).toBe(login.username);
    expect(mail.from).toBe('"Tenant Mail" <mail@tenant.example>');
    expect(mail.headers['reply-to']).toBe('help@tenant.example');
    expect(await smtpAuthAttempts()).toContainEqual({ username: login.username, accepted: true });
  });

  it('a wrong password is a permanent failure whose answer names no secret', async () => {
    const login = uniqueLogin();
    await requireSMTPAuth(login);
    const wrong = { ...login, password: `wrong-${crypto.randomUUID()}` };
    const { tenant } = await tenantWithSMTP(wrong);
    const dlq = recordingQueue();
    const batch = batchFor(tenant.id, uniqueRecipient());
    const ctx = createExecutionContext();
    const logs: string[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => void logs.push(args.map(String).join(' '));
    try {
      await handleMailBatch(batch, { ...testEnv, MAIL_DEAD_LETTER_QUEUE: dlq.queue }, ctx);
    } finally {
      console.error = original;
    }
    expect((await getQueueResult(batch, ctx)).explicitAcks).toHaveLength(1);
    const dead = dlq.sent[0] as DeadMail;
    expect(dead).toMatchObject({ permanent: true });
    expect(dead.answer).toMatch(/^535 /);
    expect(logs.join('\n')).toContain('dead-lettered');
    for (const text of [dead.answer, logs.join('\n')]) {
      expect(text).not.toContain(wrong.password);
      expect(text).not.toContain(btoa(`\u0000${wrong.username}\u0000${wrong.password}`));
    }
    expect(await smtpAuthAttempts()).toContainEqual({ username: login.username, accepted: false });
  });

  it('a server asking for AUTH from a tenant without a username is a permanent failure saying so', async () => {
    const { tenant, sent } = await tenantWithSMTP(uniqueLogin(), {
      username: null,
      password: null,
    });
    expect(sent.response.status).toBe(200);
    const dlq = recordingQueue();
    const batch = batchFor(tenant.id, uniqueRecipient());
    const ctx = createExecutionContext();
    await handleMailBatch(batch, { ...testEnv, MAIL_DEAD_LETTER_QUEUE: dlq.queue }, ctx);
    expect((await getQueueResult(batch, ctx)).explicitAcks).toHaveLength(1);
    const dead = dlq.sent[0] as DeadMail;
    expect(dead).toMatchObject({ permanent: true });
    expect(dead.answer).toMatch(/requires authentication/);
  });

  it('STARTTLS mode refuses a server that does not offer STARTTLS before sending the login', async () => {
    const login = uniqueLogin();
    const { tenant } = await tenantWithSMTP(login, { tls: 'starttls' });
    const dlq = recordingQueue();
    const batch = batchFor(tenant.id, uniqueRecipient());
    const ctx = createExecutionContext();
    await handleMailBatch(batch, { ...testEnv, MAIL_DEAD_LETTER_QUEUE: dlq.queue }, ctx);
    expect(dlq.sent).toEqual([
      expect.objectContaining({ permanent: true, answer: expect.stringContaining('STARTTLS') }),
    ]);
    const attempts = await smtpAuthAttempts();
    expect(attempts.map((attempt) => attempt.username)).not.toContain(login.username);
  });
});

describe('POST /tenants/{slug}/mail/test', () => {
  it("sends through the tenant's server and reports its answer", async () => {
    const login = uniqueLogin();
    await requireSMTPAuth(login);
    const { tenant } = await tenantWithSMTP(login);
    const to = uniqueRecipient('test');
    const sent = await admin(`/tenants/${tenant.slug}/mail/test`, 'POST', { to });
    expect(sent.response.status).toBe(200);
    expect(await sent.json()).toMatchObject({
      delivered: true,
      route: 'tenant',
      smtp_answer: expect.stringMatching(/^250 /),
    });
    // Auth, the tenant's settings, the audit event; one SMTP connection among the subrequests.
    expect(await sent.roundTrips()).toBe(3);
    expect(sent.logs.join('\n')).not.toContain(login.password);
    const mail = await waitForMail({ to });
    expect(mail.subject).toBe('Gatehouse test message');
    expect(mail.user).toBe(login.username);
  });

  it('without tenant settings uses SMTP_URL, and reports a refusal as delivered: false', async () => {
    const tenant = await makeTenant();
    const ok = await admin(`/tenants/${tenant.slug}/mail/test`, 'POST', { to: uniqueRecipient() });
    expect(await ok.json()).toMatchObject({ delivered: true, route: 'default' });

    const login = uniqueLogin();
    await requireSMTPAuth(login);
    const { tenant: broken } = await tenantWithSMTP({ ...login, password: 'not-it' });
    const refused = await admin(`/tenants/${broken.slug}/mail/test`, 'POST', {
      to: uniqueRecipient(),
    });
    expect(refused.response.status).toBe(200);
    const body = await refused.json();
    expect(body).toMatchObject({ delivered: false, route: 'tenant', permanent: true });
    expect(String(body.smtp_answer)).toMatch(/^535 /);
  });

  it('refuses a bad address (400) and an unknown tenant (404)', async () => {
    const tenant = await makeTenant();
    for (const to of ['not-an-address', 'a@b.example\r\nBcc: c@d.example', 'Name <a@b.example>']) {
      const sent = await admin(`/tenants/${tenant.slug}/mail/test`, 'POST', { to });
      expect(sent.response.status).toBe(400);
      const code = /[\r\n]/.test(to) ? 'invalid_characters' : 'invalid_request';
      expect(await sent.json()).toMatchObject({ error: code });
    }
    const missing = await admin(
      `/tenants/no-such-${crypto.randomUUID().slice(0, 8)}/mail/test`,
      'POST',
      {
        to: uniqueRecipient(),
      },
    );
    expect(missing.response.status).toBe(404);
  });
});
