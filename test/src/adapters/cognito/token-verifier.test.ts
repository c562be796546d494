/**
 * Bearer token verification (src/adapters/cognito/token-verifier.ts) against the local issuer: the checks, and the cache of
 * verified tokens that spares later requests the signature check.
 */
import t from 'tap';
import { startLocalIssuer, issueToken, LOCAL_AUDIENCE, LOCAL_ISSUER } from '../../../../deploy/local/cognito/issuer.ts';
import { createTokenVerifier } from '../../../../src/adapters/cognito/token-verifier.ts';
import { UnauthenticatedError } from '../../../../src/domain/errors.ts';
import { tempDir } from '../../../helpers/media.ts';

const issuer = await startLocalIssuer({ dir: await tempDir(t, 'vod-auth-'), port: 0 });
t.teardown(() => issuer.close());

function verifier(options: { now?: () => number; cacheSize?: number } = {}) {
  return createTokenVerifier({ issuer: LOCAL_ISSUER, audience: LOCAL_AUDIENCE, jwksUrl: issuer.jwksUrl, ...options });
}

t.test('a verified token is remembered until it expires, then refused as expired', async (t) => {
  let clock = Date.now();
  const tokens = verifier({ now: () => clock });
  const header = `Bearer ${await issueToken(issuer.keys, 'alice', { expiresInSeconds: 60, now: new Date(clock) })}`;
  const first = await tokens.verify(header);
  t.same(first, { userId: 'alice' });
  t.equal(await tokens.verify(header), first, 'the same viewer from the cache: no second signature check');
  clock += 59_000;
  t.equal(await tokens.verify(header), first, 'still valid a second before exp');
  clock += 1_000;
  await t.rejects(tokens.verify(header), new UnauthenticatedError('Unauthenticated: the token has expired'), 'at exp it is expired, as jose says');
});

t.test('only tokens that verified are remembered', async (t) => {
  const tokens = verifier();
  const good = await issueToken(issuer.keys, 'bob');
  const [head, payload, signature] = good.split('.');
  const forged = `${head}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), sub: 'mallory' })).toString('base64url')}.${signature}`;
  for (let attempt = 0; attempt < 2; attempt++) {
    await t.rejects(
      tokens.verify(`Bearer ${forged}`),
      new UnauthenticatedError('Unauthenticated: the token is not valid here'),
      `forged, attempt ${attempt + 1}`,
    );
  }
  await t.rejects(tokens.verify(`Bearer ${await issueToken(issuer.keys, 'bob', { audience: 'another-app' })}`), UnauthenticatedError, 'foreign audience');
  for (const header of [undefined, '', 'Bearer', `Basic ${good}`, `Bearer ${good} extra`, `bearer ${good}`]) {
    await t.rejects(tokens.verify(header), new UnauthenticatedError('Send Authorization: Bearer <token>'), `malformed: ${String(header).slice(0, 12)}`);
  }
  for (const nobody of ['', ' ']) {
    await t.rejects(
      tokens.verify(`Bearer ${await issueToken(issuer.keys, nobody)}`),
      new UnauthenticatedError('Unauthenticated: the token names no user (empty sub)'),
      `a signed token whose sub is ${JSON.stringify(nobody)} is no user`,
    );
  }
  t.same(await tokens.verify(`Bearer ${good}`), { userId: 'bob' }, 'the genuine one still verifies');
});

t.test('the cache is bounded: the oldest token goes first and is simply verified again', async (t) => {
  const tokens = verifier({ cacheSize: 2 });
  const headers = await Promise.all(['u1', 'u2', 'u3'].map(async (user) => `Bearer ${await issueToken(issuer.keys, user)}`));
  const viewers = [];
  for (const header of headers) viewers.push(await tokens.verify(header));
  t.equal(await tokens.verify(headers[2]), viewers[2], 'the newest is remembered');
  const again = await tokens.verify(headers[0]);
  t.same(again, { userId: 'u1' });
  t.not(again, viewers[0], 'the oldest was dropped, and verified afresh');
});
