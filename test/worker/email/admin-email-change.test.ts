// Issue 12, item 4: an admin changing a user's address unverifies it and mails a verification
// link to the new address; the old address's link no longer verifies anything.
import { beforeAll, describe, expect, it } from 'vitest';
import { makeTenant, uniqueEmail } from '../fixtures.ts';
import { jsonRequest, send } from '../harness.ts';
import { ADMIN, bearer, makeKey, makeOperator } from '../admin/fixtures.ts';
import { PASSWORD, RecordingMailer, post, tokenFromMail, warmUp } from './helpers.ts';

let key: string;

beforeAll(async () => {
  await warmUp();
  ({ key } = await makeKey(await makeOperator()));
});

function patchUser(slug: string, id: string, body: unknown, mailer: RecordingMailer) {
  return send(`${ADMIN}/tenants/${slug}/users/${id}`, jsonRequest('PATCH', body, bearer(key)), {
    app: { overrideDeps: () => ({ mail: mailer }) },
  });
}

describe("an admin's change of address", () => {
  it('sets email_verified false and mails a link to the new address that verifies it', async () => {
    const tenant = await makeTenant();
    const mailer = new RecordingMailer();
    const email = uniqueEmail();
    const registered = await post(
      tenant,
      '/v1/auth/register',
      { email, password: PASSWORD },
      { mailer },
    );
    const userId = (await registered.json<{ user: { id: string } }>()).user.id;
    const oldToken = tokenFromMail(mailer.last(email, 'email_verification'));

    const renamed = await patchUser(tenant.slug, userId, { name: 'Only a name' }, mailer);
    expect(renamed.response.status).toBe(200);
    expect(mailer.messages).toHaveLength(1); // no new mail without a new address

    const moved = uniqueEmail();
    const changed = await patchUser(tenant.slug, userId, { email: moved }, mailer);
    expect(changed.response.status).toBe(200);
    expect(await changed.json()).toMatchObject({ user: { email: moved, email_verified: false } });
    const mail = mailer.last(moved, 'email_verification');

    const stale = await post(tenant, '/v1/auth/email/verify', { token: oldToken }, { mailer });
    expect((await stale.json()).error).toBe('invalid_verification_token');
    const ok = await post(
      tenant,
      '/v1/auth/email/verify',
      { token: tokenFromMail(mail) },
      { mailer },
    );
    expect(ok.response.status).toBe(200);
    const view = await send(`${ADMIN}/tenants/${tenant.slug}/users/${userId}`, {
      headers: bearer(key),
    });
    expect(await view.json()).toMatchObject({ user: { email_verified: true } });

    // An explicit email_verified in the same patch wins: an admin who checked the address.
    const vouched = uniqueEmail();
    const both = await patchUser(
      tenant.slug,
      userId,
      { email: vouched, email_verified: true },
      mailer,
    );
    expect(await both.json()).toMatchObject({ user: { email: vouched, email_verified: true } });
    expect(mailer.to(vouched)).toHaveLength(0);
  });
});

describe('mail settings through the admin API', () => {
  it('sets links and switches field by field, refuses a non-https link, and mails use them', async () => {
    const tenant = await makeTenant();
    const mailer = new RecordingMailer();
    const patch = (mail: unknown) =>
      send(
        `${ADMIN}/tenants/${tenant.slug}`,
        jsonRequest('PATCH', { settings: { mail } }, bearer(key)),
      );
    const first = await patch({ links: { verify_url: 'https://app.example.com/verify' } });
    expect(first.response.status).toBe(200);
    const second = await patch({
      product_name: 'Widgets',
      otp_sign_in_enabled: true,
      links: { reset_url: 'https://app.example.com/reset' },
    });
    expect(second.response.status).toBe(200);
    expect(await second.json()).toMatchObject({
      tenant: {
        settings: {
          mail: {
            links: {
              verify_url: 'https://app.example.com/verify',
              reset_url: 'https://app.example.com/reset',
            },
            product_name: 'Widgets',
            otp_sign_in_enabled: true,
            password_reset_ttl_seconds: 1800,
          },
        },
      },
    });
    const insecure = await patch({ links: { verify_url: 'http://app.example.com/verify' } });
    expect(insecure.response.status).toBe(400);
    const fragment = await patch({ links: { reset_url: 'https://app.example.com/r#x' } });
    expect(fragment.response.status).toBe(400);

    const email = uniqueEmail();
    await post(tenant, '/v1/auth/register', { email, password: PASSWORD }, { mailer });
    const mail = mailer.last(email, 'email_verification');
    expect(mail.subject).toContain('Widgets');
    expect(mail.text).toContain('https://app.example.com/verify#token=');
  });
});
