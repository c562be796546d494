/** CloudFront's signing parameters as the page, the edge signer and the CDN stand-in read them. */
import t from 'tap';
import { isSigningPair, queryPairName, signedCookieName, signingQueryOf } from '../../../src/shared/cloudfront-signing.ts';

t.test('keeps only the signing parameters of the viewer query, byte for byte and in order', async (t) => {
  t.equal(
    signingQueryOf('utm=1&Policy=a%7E_&x=&Signature=b~-&Key-Pair-Id=K1&Hash-Algorithm=SHA256'),
    'Policy=a%7E_&Signature=b~-&Key-Pair-Id=K1&Hash-Algorithm=SHA256',
  );
  t.equal(signingQueryOf('Expires=1767225600&Signature=s&Key-Pair-Id=K'), 'Expires=1767225600&Signature=s&Key-Pair-Id=K', 'canned too');
  t.equal(signingQueryOf(''), '');
  t.equal(signingQueryOf('PolicyX=1&policy=2'), '', 'names are exact and case-sensitive');
});

t.test('a pair is named by what comes before its first "=", not decoded', async (t) => {
  t.equal(queryPairName('Policy=a=b'), 'Policy');
  t.equal(queryPairName('Signature'), 'Signature', 'a pair without a value');
  t.ok(isSigningPair('Signature'));
  t.notOk(isSigningPair('Key%2DPair-Id=K1'), 'an encoded name is another name');
  t.notOk(isSigningPair(''));
});

t.test('each signing parameter travels in the cookie CloudFront names after it', async (t) => {
  t.equal(signedCookieName('Policy'), 'CloudFront-Policy');
  t.equal(signedCookieName('Key-Pair-Id'), 'CloudFront-Key-Pair-Id');
});
