// A real OpenID Provider (node-oidc-provider, OpenID Certified) on loopback for the
// single-sign-on tests (IDN-03). Its development login page accepts any login and password:
// the login is the account, and its claims follow from it:
//   sub = the login, email = the login (verified unless it starts with "unverified-"),
//   name = the part before "@", groups = ["staff"] for logins ending "@corp.example".
//
// Usage: node oidc-idp.mjs PORT CLIENT_ID CLIENT_SECRET REDIRECT_URI POST_LOGOUT_URI
// Prints "listening ISSUER" once it accepts connections.

import Provider from 'oidc-provider';

const [port, clientId, clientSecret, redirectUri, postLogoutUri] = process.argv.slice(2);
if (!postLogoutUri) {
  console.error('usage: node oidc-idp.mjs PORT CLIENT_ID CLIENT_SECRET REDIRECT_URI POST_LOGOUT_URI');
  process.exit(2);
}
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: redirectUri.split(','),
      post_logout_redirect_uris: postLogoutUri.split(','),
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  pkce: { required: () => true },
  scopes: ['openid', 'email', 'profile', 'groups'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
    groups: ['groups'],
  },
  conformIdTokenClaims: false,
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return {
          sub: id,
          email: id.replace(/^unverified-/, ''),
          email_verified: !id.startsWith('unverified-'),
          name: id.split('@')[0],
          groups: id.endsWith('@corp.example') ? ['staff'] : [],
          amr: ['pwd'],
        };
      },
    };
  },
});
// How often the discovery document was read, for the tests of the relying party's cache:
// GET /test/discoveries.
let discoveries = 0;
provider.use(async (ctx, next) => {
  if (ctx.path === '/test/discoveries') {
    ctx.body = { discoveries };
    return;
  }
  if (ctx.path === '/.well-known/openid-configuration') discoveries += 1;
  await next();
});
// Loopback over plain HTTP, as in the tests.
provider.proxy = false;
provider.listen(Number(port), '127.0.0.1', () => console.log(`listening ${issuer}`));
