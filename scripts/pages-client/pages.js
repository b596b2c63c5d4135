/* global document, window, fetch, HTMLButtonElement */
// The hosted pages' only script (bundled into src/features/pages/generated/pages-js.ts by
// scripts/build-pages-assets.ts). Progressive enhancement: every form works without it; it only
// adds the passkey buttons, which need WebAuthn and therefore JavaScript.
import { browserSupportsWebAuthn, startAuthentication } from '@simplewebauthn/browser';

async function postJSON(url, body) {
  const response = await fetch(url, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  let json = {};
  try {
    json = await response.json();
  } catch {
    // not JSON: keep the empty object
  }
  return { ok: response.ok, body: json };
}

function say(button, message) {
  const status = document.getElementById(button.dataset.status ?? '');
  if (status !== null) status.textContent = message;
}

async function signInWithPasskey(button) {
  const api = button.dataset.api;
  button.disabled = true;
  say(button, 'Waiting for your passkey…');
  try {
    const options = await postJSON(`${api}/authenticate/options`, {});
    if (!options.ok) throw new Error('options');
    const response = await startAuthentication({ optionsJSON: options.body });
    const verified = await postJSON(`${api}/authenticate/verify`, { response });
    if (!verified.ok) throw new Error('verify');
    if (verified.body.mfa_required === true) {
      // A passkey without user verification is one factor: continue on the hosted MFA page.
      const form = document.getElementById('passkey-mfa-form');
      const field = form?.querySelector('input[name="mfa_token"]');
      if (form === null || field === null || field === undefined) throw new Error('mfa');
      field.value = verified.body.mfa_token;
      form.submit();
      return;
    }
    say(button, 'Signed in. Continuing…');
    window.location.assign(button.dataset.next ?? '/');
  } catch {
    say(button, 'Passkey sign-in did not complete. Try again or use another method.');
    button.disabled = false;
  }
}

for (const button of document.querySelectorAll('button[data-passkey-signin]')) {
  if (!(button instanceof HTMLButtonElement) || !browserSupportsWebAuthn()) continue;
  button.hidden = false;
  button.addEventListener('click', () => void signInWithPasskey(button));
}
