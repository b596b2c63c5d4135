// Issue 17 item 2: avatars in R2 (the AVATARS binding from wrangler.toml, Miniflare's local R2).
import { sql } from 'drizzle-orm';
import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_AVATAR_BYTES } from '../../../src/features/avatars/routes.ts';
import { CookieJar, makeTenant, testDB, uniqueEmail, type TestTenant } from '../fixtures.ts';
import { jsonRequest, send, testEnv } from '../harness.ts';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function image(size: number, magic: number[], fill = 7): Uint8Array {
  const bytes = new Uint8Array(size).fill(fill);
  bytes.set(magic);
  return bytes;
}
const png = (size: number, fill = 7) => image(size, PNG_SIGNATURE, fill);

let tenant: TestTenant;
let nextHost = Math.floor(Math.random() * 200);
beforeAll(async () => {
  tenant = await makeTenant();
});

async function signUp(): Promise<{ jar: CookieJar; id: string }> {
  nextHost = (nextHost + 1) % 250;
  const sent = await send(
    `${tenant.base}/v1/auth/register`,
    jsonRequest(
      'POST',
      { email: uniqueEmail(), password: 'correct horse battery' },
      { 'CF-Connecting-IP': `203.0.113.${nextHost + 1}` },
    ),
  );
  expect(sent.response.status).toBe(201);
  const jar = new CookieJar();
  jar.store(sent.response);
  return { jar, id: (await sent.json<{ user: { id: string } }>()).user.id };
}

function put(jar: CookieJar, body: BodyInit, headers: Record<string, string> = {}) {
  return send(`${tenant.base}/v1/auth/me/avatar`, {
    method: 'PUT',
    headers: { ...jar.header(), ...headers },
    body,
    // A ReadableStream body needs duplex in workerd's fetch.
    ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
  } as RequestInit);
}

async function avatarKey(userId: string): Promise<string | null> {
  const row = await testDB().execute(sql`select avatar_key from users where id = ${userId}::uuid`);
  return (row.rows[0]?.avatar_key as string | null) ?? null;
}

describe('PUT /v1/auth/me/avatar', () => {
  it('stores 5 MiB − 1 bytes under their SHA-256 and serves them immutable, typed by sniffing', async () => {
    const user = await signUp();
    const bytes = png(MAX_AVATAR_BYTES - 1);
    // The declared type is ignored: a PNG declared as text is still a PNG.
    const sent = await put(user.jar, bytes, { 'Content-Type': 'text/plain' });
    expect(sent.response.status).toBe(200);
    expect(await sent.roundTrips()).toBe(2);
    const body = await sent.json<{ avatar_url: string; content_type: string }>();
    const hash = [...new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))]
      .map((b) => b.toString(16).padStart(2, '0'))
      .join('');
    expect(body.content_type).toBe('image/png');
    expect(body.avatar_url).toMatch(new RegExp(`${tenant.base}/v1/avatars/${hash}$`));
    expect(await avatarKey(user.id)).toBe(hash);
    expect(await testEnv.AVATARS!.head(`avatars/${hash}`)).not.toBeNull();

    const served = await send(`${tenant.base}/v1/avatars/${hash}`);
    expect(served.response.status).toBe(200);
    expect(served.response.headers.get('Content-Type')).toBe('image/png');
    expect(served.response.headers.get('Cache-Control')).toBe(
      'public, max-age=31536000, immutable',
    );
    expect(served.response.headers.get('X-Content-Type-Options')).toBe('nosniff');
    const csp = served.response.headers.get('Content-Security-Policy') ?? '';
    expect(csp).toMatch(/^default-src 'none';/);
    expect(csp).toMatch(/; sandbox$/);
    // Compared by hash: a 5 MiB element-wise toEqual takes vitest a minute.
    const back = new Uint8Array(
      await crypto.subtle.digest('SHA-256', await served.response.arrayBuffer()),
    );
    expect([...back].map((b) => b.toString(16).padStart(2, '0')).join('')).toBe(hash);
    expect(await served.roundTrips()).toBe(0);

    const me = await send(`${tenant.base}/v1/auth/me`, { headers: user.jar.header() });
    expect((await me.json<{ user: { avatar_url: string } }>()).user.avatar_url).toBe(
      body.avatar_url,
    );
  });

  it('refuses 5 MiB + 1 bytes by Content-Length with 413 before reading, storing nothing', async () => {
    const user = await signUp();
    const sent = await put(user.jar, png(MAX_AVATAR_BYTES + 1));
    expect(sent.response.status).toBe(413);
    expect((await sent.json<{ error: string }>()).error).toBe('payload_too_large');
    // Refused before the session check (the only SQL left is the Worker's own tenant and schema checks).
    expect(await sent.roundTrips()).toBeLessThanOrEqual(1);
    expect(await avatarKey(user.id)).toBeNull();
  });

  it('refuses a streamed body without Content-Length once it passes 5 MiB', async () => {
    const user = await signUp();
    let pulled = 0;
    const chunk = png(256 * 1024);
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += 1;
        if (pulled > 40)
          controller.close(); // 10 MiB in all, if nobody stops reading
        else controller.enqueue(chunk.slice());
      },
    });
    const sent = await put(user.jar, stream);
    expect(sent.response.status).toBe(413);
    expect((await sent.json<{ error: string }>()).error).toBe('payload_too_large');
    expect(await avatarKey(user.id)).toBeNull();
  });

  it('refuses a polyglot: declared image/png, but GIF magic bytes', async () => {
    const user = await signUp();
    const gif = image(1024, [0x47, 0x49, 0x46, 0x38, 0x39, 0x61]);
    const sent = await put(user.jar, gif, { 'Content-Type': 'image/png' });
    expect(sent.response.status).toBe(415);
    expect((await sent.json<{ error: string }>()).error).toBe('unsupported_media_type');
    expect(await avatarKey(user.id)).toBeNull();
    // And an HTML page that calls itself a PNG.
    const html = new TextEncoder().encode('<html><script>alert(1)</script></html>');
    const page = await put(user.jar, html, { 'Content-Type': 'image/png' });
    expect(page.response.status).toBe(415);
  });

  it('accepts JPEG and WebP by their magic bytes', async () => {
    const user = await signUp();
    const jpeg = await put(user.jar, image(64, [0xff, 0xd8, 0xff, 0xe0]));
    expect((await jpeg.json<{ content_type: string }>()).content_type).toBe('image/jpeg');
    const webp = image(64, [0x52, 0x49, 0x46, 0x46, 0x38, 0, 0, 0, 0x57, 0x45, 0x42, 0x50]);
    const sent = await put(user.jar, webp);
    expect((await sent.json<{ content_type: string }>()).content_type).toBe('image/webp');
  });

  it('DELETE removes the avatar and its object; erasure removes it too', async () => {
    const user = await signUp();
    const bytes = png(2048, 11);
    await put(user.jar, bytes);
    const hash = (await avatarKey(user.id))!;
    const removed = await send(`${tenant.base}/v1/auth/me/avatar`, {
      method: 'DELETE',
      headers: user.jar.header(),
    });
    expect(removed.response.status).toBe(200);
    expect(await removed.roundTrips()).toBe(2);
    expect(await avatarKey(user.id)).toBeNull();
    expect(await testEnv.AVATARS!.head(`avatars/${hash}`)).toBeNull();
    expect((await send(`${tenant.base}/v1/avatars/${hash}`)).response.status).toBe(404);

    await put(user.jar, bytes);
    const erased = await send(`${tenant.base}/v1/auth/me`, {
      method: 'DELETE',
      headers: user.jar.header(),
    });
    expect(erased.response.status).toBe(200);
    expect(await testEnv.AVATARS!.head(`avatars/${hash}`)).toBeNull();
  });
});
