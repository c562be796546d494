/**
 * The local stand-in for Cognito: an RSA key pair kept in the data directory, a JWKS endpoint the
 * API verifies against exactly as it would Cognito's, and tokens for any user id.
 */
import { createServer, type Server } from 'node:http';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';

export const LOCAL_ISSUER = 'urn:vod:local-issuer';
export const LOCAL_AUDIENCE = 'vod-api';

interface IssuerKeys {
  kid: string;
  privateJwk: JWK;
  publicJwk: JWK;
}

/** Reads the issuer's key pair from `dir`, creating it on first use. */
export async function loadIssuerKeys(dir: string): Promise<IssuerKeys> {
  const file = join(dir, 'issuer-key.json');
  try {
    return JSON.parse(await readFile(file, 'utf8')) as IssuerKeys;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = `local-${Date.now().toString(36)}`;
  const keys: IssuerKeys = {
    kid,
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg: 'RS256' },
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' },
  };
  await mkdir(dir, { recursive: true });
  // wx: two processes racing to create the key keep the first one.
  await writeFile(file, JSON.stringify(keys), { flag: 'wx', mode: 0o600 }).catch(async (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
  return JSON.parse(await readFile(file, 'utf8')) as IssuerKeys;
}

export async function issueToken(
  keys: IssuerKeys,
  userId: string,
  options: { expiresInSeconds?: number; issuer?: string; audience?: string; now?: Date } = {},
): Promise<string> {
  const privateKey = await importJWK(keys.privateJwk, 'RS256');
  const issuedAt = Math.floor((options.now ?? new Date()).getTime() / 1000);
  return new SignJWT({ token_use: 'id' })
    .setProtectedHeader({ alg: 'RS256', kid: keys.kid, typ: 'JWT' })
    .setSubject(userId)
    .setIssuer(options.issuer ?? LOCAL_ISSUER)
    .setAudience(options.audience ?? LOCAL_AUDIENCE)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + (options.expiresInSeconds ?? 3600))
    .sign(privateKey);
}

export interface LocalIssuer {
  url: string;
  jwksUrl: string;
  keys: IssuerKeys;
  close(): Promise<void>;
}

export async function startLocalIssuer(options: { dir: string; port: number }): Promise<LocalIssuer> {
  const keys = await loadIssuerKeys(options.dir);
  const jwks = JSON.stringify({ keys: [keys.publicJwk] });
  const server: Server = createServer((request, response) => {
    if (request.method === 'GET' && request.url === '/.well-known/jwks.json') {
      response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=300' });
      response.end(jwks);
      return;
    }
    response.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"not found"}');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    jwksUrl: `${url}/.well-known/jwks.json`,
    keys,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
