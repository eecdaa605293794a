// Passkeys (IDN-02): the WebAuthn calls a page cannot make without script. Each passkey button
// stays hidden until this script finds a browser that can use passkeys; everything else on the
// pages works without it. Also follows a single-sign-on hand-off link (IDN-03) at once: the page
// policy keeps forms from redirecting to an identity provider, so those pages carry a link.
(() => {
  const follow = document.querySelector('a[data-follow]');
  if (follow) window.location.assign(follow.href);

  const supported =
    typeof window.PublicKeyCredential === 'function' &&
    typeof PublicKeyCredential.parseCreationOptionsFromJSON === 'function' &&
    typeof PublicKeyCredential.parseRequestOptionsFromJSON === 'function';
  const csrf = () => {
    const input = document.querySelector('input[name=csrf]');
    return input ? input.value : '';
  };

  async function api(path, body) {
    const r = await fetch(`/api/v1${path}`, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', 'x-csrf-token': csrf() },
      body: JSON.stringify(body || {}),
    });
    const data = await r.json().catch(() => ({}));
    if (!r.ok) {
      const code = data.error && data.error.code;
      if (code === 'reauthentication_required') {
        window.location.assign(`/reauth?next=${encodeURIComponent(window.location.pathname)}`);
      }
      throw new Error((data.error && data.error.message) || `the request failed (${r.status})`);
    }
    return data;
  }

  const create = async (options) =>
    navigator.credentials.create({
      publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options.publicKey),
    });
  const get = async (options) =>
    navigator.credentials.get({
      publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options.publicKey),
    });

  function wire(id, run) {
    const button = document.getElementById(id);
    if (!button || !supported) return;
    button.hidden = false;
    button.addEventListener('click', async (event) => {
      event.preventDefault();
      const status = document.getElementById(button.dataset.status || '');
      button.disabled = true;
      try {
        await run(button);
      } catch (e) {
        if (status) {
          status.textContent = (e && e.message) || String(e);
          status.hidden = false;
        }
      } finally {
        button.disabled = false;
      }
    });
  }

  wire('passkey-add', async () => {
    const start = await api('/me/passkeys/registration');
    const credential = await create(start.options);
    const name = document.getElementById('passkey-name');
    await api('/me/passkeys', {
      ceremony: start.ceremony,
      name: name ? name.value : '',
      credential: credential.toJSON(),
    });
    window.location.assign('/account/security?saved=passkey');
  });

  wire('passkey-sign-in', async (button) => {
    const start = await api('/session/passkey');
    const credential = await get(start.options);
    await api('/session/passkey/finish', { ceremony: start.ceremony, credential: credential.toJSON() });
    window.location.assign(button.dataset.next || '/');
  });

  wire('passkey-reauth', async (button) => {
    const start = await api('/session/reauth/passkey');
    const credential = await get(start.options);
    await api('/session/reauth/passkey/finish', { ceremony: start.ceremony, credential: credential.toJSON() });
    window.location.assign(button.dataset.next || '/');
  });

  wire('passkey-second-factor', async (button) => {
    const challenge = button.dataset.challenge;
    const start = await api('/session/second-factor/passkey', { challenge });
    const credential = await get(start.options);
    await api('/session/second-factor', {
      challenge,
      passkey: { ceremony: start.ceremony, credential: credential.toJSON() },
    });
    window.location.assign(button.dataset.next || '/');
  });
})();
