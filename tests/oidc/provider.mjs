// A real OpenID Connect provider on loopback for relais's single sign-on
// tests: `oidc-provider` (OpenID Certified) with one client, `relais-tests`.
//
// Its sign-in page is a small form where the test says who the person is
// (subject, email, whether the email is verified) or refuses to sign in; the
// provider then does everything else by the protocol (PKCE, state, nonce,
// signed ID tokens, userinfo).
//
// It listens on a free port of 127.0.0.1, prints `listening <port>` once
// ready, and exits when its standard input closes (the test run is over).

import http from 'node:http';
import Provider from 'oidc-provider';

export const CLIENT_ID = 'relais-tests';
export const CLIENT_SECRET = 'secret-du-fournisseur-de-test';

// Identities the tests have signed in as, by subject.
const people = new Map();

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address();

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [{
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    // A native client on loopback: the provider accepts any port for its
    // redirect URI (RFC 8252), and each test's relais has its own port.
    application_type: 'native',
    redirect_uris: ['http://127.0.0.1/connexion/sso/retour'],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  claims: { openid: ['sub'], email: ['email', 'email_verified'] },
  cookies: { keys: ['cle-des-cookies-du-fournisseur-de-test'] },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, subject) {
    const person = people.get(subject);
    if (!person) return undefined;
    return {
      accountId: subject,
      async claims() {
        return { sub: subject, email: person.email, email_verified: person.verified };
      },
    };
  },
});

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function signInPage(uid, clientId) {
  return `<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>Fournisseur d'identité de test</title></head>
<body>
<h1>Fournisseur d'identité de test</h1>
<p>Connexion demandée par ${escape(clientId)}.</p>
<form method="post" action="/interaction/${escape(uid)}">
  <label for="sub">Identifiant chez le fournisseur</label>
  <input id="sub" name="sub" required>
  <label for="email">Adresse électronique</label>
  <input id="email" name="email" type="email" required>
  <label><input id="verified" name="verified" type="checkbox" value="oui"> Adresse vérifiée</label>
  <button id="accept" type="submit" name="action" value="accept">Se connecter</button>
  <button id="deny" type="submit" name="action" value="deny" formnovalidate>Refuser</button>
</form>
</body></html>`;
}

async function readForm(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return new URLSearchParams(body);
}

async function interaction(req, res, uid) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('interaction mismatch');
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(signInPage(uid, details.params.client_id));
    return;
  }
  const form = await readForm(req);
  if (form.get('action') === 'deny') {
    await provider.interactionFinished(req, res, {
      error: 'access_denied',
      error_description: 'La personne a refusé la connexion.',
    }, { mergeWithLastSubmission: false });
    return;
  }
  const subject = form.get('sub');
  people.set(subject, { email: form.get('email'), verified: form.get('verified') === 'oui' });
  const grant = new provider.Grant({ accountId: subject, clientId: details.params.client_id });
  grant.addOIDCScope(details.params.scope);
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, {
    login: { accountId: subject },
    consent: { grantId },
  }, { mergeWithLastSubmission: false });
}

const callback = provider.callback();
server.on('request', (req, res) => {
  const match = req.url.match(/^\/interaction\/([^/?]+)/);
  if (!match) {
    callback(req, res);
    return;
  }
  interaction(req, res, match[1]).catch((error) => {
    res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(`interaction impossible : ${error.message}`);
  });
});

process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
console.log(`listening ${port}`);
