// A minimal SPA on the SDK: sign up, sign in (password or passkey), the session list, sign out.
// Where Gatehouse is comes from /config.json on this page's own origin (never from the URL, which
// a phishing link could set): { "baseURL": "...", "tenant": "...", "mode": "cookie" | "token" }.
import { createClient, GatehouseError, isMfaRequired, type ClientOptions } from '@gatehouse/client';
import { registerPasskey, signInWithPasskey } from '@gatehouse/client/passkeys';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

async function main(): Promise<void> {
  const config = (await (await fetch('/config.json')).json()) as ClientOptions;
  const client = createClient(config);
  // For the example's browser test (and your console): the client this page uses.
  (window as unknown as { gatehouse: typeof client }).gatehouse = client;

  async function show(): Promise<void> {
    $('error').textContent = '';
    try {
      const { user } = await client.session();
      const { sessions } = await client.sessions.list();
      $('email').textContent = user?.email ?? '';
      $('sessions').replaceChildren(
        ...sessions.map((s) => {
          const item = document.createElement('li');
          item.textContent = `${s.user_agent ?? 'unknown device'}, since ${s.created_at}${s.current ? ' (this one)' : ''}`;
          item.dataset.sessionId = s.id;
          return item;
        }),
      );
      $('signed-in').hidden = false;
      $('signed-out').hidden = true;
      $('status').textContent = 'Signed in';
    } catch (error) {
      if (!(error instanceof GatehouseError) || error.status !== 401) throw error;
      $('email').textContent = '';
      $('signed-in').hidden = true;
      $('signed-out').hidden = false;
      $('status').textContent = 'Signed out';
    }
  }

  /** Runs an action, showing the service's error code if it is refused. */
  function action(run: () => Promise<unknown>): () => void {
    return () => {
      run()
        .then(show)
        .catch((error: unknown) => {
          $('error').textContent =
            error instanceof GatehouseError ? `${error.error}: ${error.message}` : String(error);
        });
    };
  }

  function fields(form: HTMLFormElement): { email: string; password: string } {
    const data = new FormData(form);
    return { email: String(data.get('email')), password: String(data.get('password')) };
  }

  for (const [id, run] of [
    ['sign-up', (form: HTMLFormElement) => client.register(fields(form))],
    [
      'sign-in',
      async (form: HTMLFormElement) => {
        const result = await client.login(fields(form));
        // A second factor is due: a real app would ask for the code and call completeMfa().
        if (isMfaRequired(result)) throw new Error(`second factor required: ${result.methods}`);
      },
    ],
  ] as const) {
    const form = $<HTMLFormElement>(id);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      action(() => run(form))();
    });
  }
  $('passkey-sign-in').addEventListener(
    'click',
    action(() => signInWithPasskey(client)),
  );
  $('add-passkey').addEventListener(
    'click',
    action(() => registerPasskey(client)),
  );
  $('sign-out').addEventListener(
    'click',
    action(() => client.logout()),
  );
  await show();
}

main().catch((error: unknown) => ($('error').textContent = String(error)));
