/**
 * A stand-in CI platform for the demo and the tests: a loopback OIDC issuer with its own RSA key
 * that serves /.well-known/openid-configuration and the JWKS, signs tokens like GitHub Actions
 * does (each with its own `jti`), and answers GitHub's token request endpoint (ACTIONS_ID_TOKEN_REQUEST_URL). Binds
 * 127.0.0.1 only. Production never uses it: the policy pins the real issuer's URL.
 */
import { createServer, type Server } from 'node:http';
import { randomBytes, randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';

export interface LocalIssuer {
  issuer: string;
  /** Signs a token with the issuer's key (or another key: a forger's). */
  token(claims?: JWTPayload, opts?: { audience?: string; expiresIn?: string; foreignKey?: boolean }): Promise<string>;
  /** Variables a GitHub Actions job with id-token: write has. */
  githubEnv(): Record<string, string>;
  /** Claims a GitHub deploy job of `repository` on main in environment production carries. */
  githubClaims(repository: string): JWTPayload;
  close(): Promise<void>;
}

export function githubDeployClaims(repository: string): JWTPayload {
  return {
    sub: `repo:${repository}:environment:production`,
    repository,
    ref: 'refs/heads/main',
    environment: 'production',
    event_name: 'push',
    job_workflow_ref: `${repository}/.github/workflows/prodguard.yml@refs/heads/main`,
    run_id: '1',
  };
}

export async function startLocalIssuer(defaults: JWTPayload = {}): Promise<LocalIssuer> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const foreign = await generateKeyPair('RS256');
  const kid = randomBytes(8).toString('hex');
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  const requestToken = randomBytes(16).toString('hex');
  let issuer = '';
  const sign = (claims: JWTPayload, key: CryptoKey, audience: string, expiresIn: string) =>
    // An `iat` the caller gives is kept (tests of clock tricks); else the time of signing.
    new SignJWT({ ...defaults, ...claims }).setProtectedHeader({ alg: 'RS256', kid }).setIssuer(issuer).setAudience(audience).setIssuedAt(claims.iat ?? Math.floor(Date.now() / 1000)).setJti(randomUUID()).setExpirationTime(expiresIn).sign(key);

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', issuer);
    const json = (code: number, body: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === '/.well-known/openid-configuration') return json(200, { issuer, jwks_uri: `${issuer}/.well-known/jwks`, id_token_signing_alg_values_supported: ['RS256'] });
    if (url.pathname === '/.well-known/jwks') return json(200, { keys: [jwk] });
    if (url.pathname === '/token') {
      if (req.headers.authorization !== `bearer ${requestToken}`) return json(401, { message: 'bad request token' });
      sign({}, privateKey, url.searchParams.get('audience') ?? 'prodguard', '5m').then((value) => json(200, { value }), () => json(500, {}));
      return;
    }
    json(404, {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('local issuer did not bind');
  issuer = `http://127.0.0.1:${addr.port}`;
  return {
    issuer,
    token: (claims = {}, opts = {}) => sign(claims, opts.foreignKey ? foreign.privateKey : privateKey, opts.audience ?? 'prodguard', opts.expiresIn ?? '5m'),
    githubEnv: () => ({ ACTIONS_ID_TOKEN_REQUEST_URL: `${issuer}/token?api-version=2.0`, ACTIONS_ID_TOKEN_REQUEST_TOKEN: requestToken }),
    githubClaims: githubDeployClaims,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
