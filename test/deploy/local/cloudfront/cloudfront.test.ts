/**
 * The CloudFront stand-in's signature check on its own, against URLs and cookies made by the AWS
 * SDK's CloudFront signer: every policy form CloudFront accepts passes, and each way CloudFront
 * refuses a request is refused here too.
 */
import t from 'tap';
import { createPublicKey, createSign, generateKeyPairSync } from 'node:crypto';
import { getSignedCookies, getSignedUrl } from '@aws-sdk/cloudfront-signer';
import { parseCookies, verifyViewerRequest, type ViewerRequest } from '../../../../deploy/local/cloudfront/cloudfront.ts';

const keyPair = () =>
  generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
const trusted = keyPair();
const stranger = keyPair();
const KEY_ID = 'K2JCJMDEHXQW5F';
const trustedKeys = new Map([[KEY_ID, createPublicKey(trusted.publicKey)]]);
const CDN = 'https://d111111abcdef8.cloudfront.net';
const NOW = 1_800_000_000;
const video = `${CDN}/video-streams/v1`;

/** A viewer request for an absolute URL, as the stand-in sees it. */
function requestFor(url: string, extra: Partial<ViewerRequest> = {}): ViewerRequest {
  const questionMark = url.indexOf('?');
  const parsed = new URL(url);
  return {
    origin: parsed.origin,
    path: parsed.pathname,
    query: questionMark === -1 ? '' : url.slice(questionMark + 1),
    cookies: {},
    clientIp: '203.0.113.7',
    ...extra,
  };
}
/** The denial, or undefined when granted. */
const check = (url: string, extra: Partial<ViewerRequest> = {}, now = NOW) => {
  const verdict = verifyViewerRequest(requestFor(url, extra), trustedKeys, now);
  return verdict.code === 'Granted' ? undefined : verdict;
};
const policy = (statement: object) => JSON.stringify({ Statement: [statement] });
const until = (epoch = NOW + 60) => ({ DateLessThan: { 'AWS:EpochTime': epoch } });
const custom = (resource: string, condition: object = until()) => policy({ Resource: resource, Condition: condition });
const sign = (url: string, policyText: string, privateKey = trusted.privateKey, keyPairId = KEY_ID) =>
  getSignedUrl({ url, policy: policyText, keyPairId, privateKey });

t.test('a canned policy (Expires) is rebuilt from the URL, its own query included', async (t) => {
  const url = getSignedUrl({
    url: `${video}/master.m3u8?size=large`,
    keyPairId: KEY_ID,
    privateKey: trusted.privateKey,
    dateLessThan: new Date((NOW + 60) * 1000),
  });
  t.match(url, /[?&]Expires=\d+&Key-Pair-Id=/);
  t.equal(check(url), undefined, 'granted');
  t.match(check(url.replace('size=large', 'size=small')), { code: 'AccessDenied' }, 'another query is another resource');
  t.match(check(url.replace('master.m3u8', 'other.m3u8')), { code: 'AccessDenied' }, 'another path is another resource');
  t.match(check(url, {}, NOW + 60), { code: 'AccessDenied', reason: 'expired' }, 'DateLessThan is exclusive');
});

t.test('a custom policy with wildcards covers what it names and nothing else', async (t) => {
  const signed = sign(`${video}/master.m3u8`, custom(`${video}/*`));
  const query = signed.slice(signed.indexOf('?') + 1);
  for (const path of ['master.m3u8', '720p/index.m3u8', '720p/segment_00001.ts']) {
    t.equal(check(`${video}/${path}?${query}`), undefined, `${path} granted`);
  }
  t.equal(check(`${video}/720p/segment_00001.ts?foo=bar&${query}`), undefined, '* covers a query of its own too');
  t.match(check(`${CDN}/video-streams/v2/master.m3u8?${query}`), { code: 'AccessDenied' }, 'another video');
  t.match(check(`${CDN}/video-streams/v1?${query}`), { code: 'AccessDenied' }, 'the folder itself is not under it');
  t.match(check(`http://d111111abcdef8.cloudfront.net/video-streams/v1/master.m3u8?${query}`), { code: 'AccessDenied' }, 'the scheme is part of the resource');

  const single = sign(`${video}/a1.ts`, custom(`${video}/a?.ts`));
  t.equal(check(single), undefined, '? matches one character');
  t.match(check(single.replace('/a1.ts', '/a12.ts')), { code: 'AccessDenied' }, '...and only one');

  const anywhere = sign(`${video}/master.m3u8`, policy({ Condition: until() }));
  t.equal(check(anywhere.replace('/video-streams/v1/', '/anything/')), undefined, 'no Resource: every object');

  t.same(verifyViewerRequest(requestFor(signed), trustedKeys, NOW), { code: 'Granted', resource: `${video}/*` }, 'a grant names the Resource that granted it');
  t.same(verifyViewerRequest(requestFor(anywhere), trustedKeys, NOW), { code: 'Granted', resource: undefined });
});

t.test('reads the signature in every encoding a client may send', async (t) => {
  const url = sign(`${video}/master.m3u8`, custom(`${video}/*`));
  const encoded = url.replace(/(Signature|Policy)=([^&]+)/g, (_, name: string, value: string) => `${name}=${value.replace(/~/g, '%7E').replace(/-/g, '%2D')}`);
  t.not(encoded, url);
  t.equal(check(encoded), undefined, 'percent-encoded ~ and - in Policy and Signature');
  const sha256 = getSignedUrl({
    url: `${video}/master.m3u8`,
    policy: custom(`${video}/*`),
    keyPairId: KEY_ID,
    privateKey: trusted.privateKey,
    algorithm: 'SHA256',
  });
  t.match(sha256, /Hash-Algorithm=SHA256/);
  t.equal(check(sha256), undefined, 'RSA-SHA256 with Hash-Algorithm=SHA256');
  t.match(check(sha256.replace('&Hash-Algorithm=SHA256', '')), { code: 'AccessDenied' }, 'a SHA-256 signature checked as SHA-1 fails');
  t.match(check(url.replace('Key-Pair-Id', 'Hash-Algorithm=MD5&Key-Pair-Id')), { code: 'AccessDenied' });
});

t.test('refuses what CloudFront refuses', async (t) => {
  const good = sign(`${video}/master.m3u8`, custom(`${video}/*`));
  const params = new URL(good).searchParams;
  const base = `${video}/master.m3u8`;
  t.match(check(base), { code: 'MissingKey', message: 'Missing Key-Pair-Id query parameter or cookie value' }, 'no signature at all');
  t.match(check(good.replace(`Key-Pair-Id=${KEY_ID}`, 'Key-Pair-Id=KUNKNOWN123')), { code: 'InvalidKey', message: 'Unknown Key' }, 'unknown key pair id');
  t.match(check(sign(base, custom(`${video}/*`), stranger.privateKey)), { code: 'AccessDenied' }, 'signed by a key outside the key group');
  t.match(check(good.replace(/Signature=[^&]+/, '')), { code: 'AccessDenied' }, 'empty signature');
  const tamperedPolicy = Buffer.from(custom(`${CDN}/*`))
    .toString('base64')
    .replace(/\+/g, '-')
    .replace(/=/g, '_')
    .replace(/\//g, '~');
  t.match(check(good.replace(params.get('Policy')!, tamperedPolicy)), { code: 'AccessDenied', reason: /signature/ }, 'a policy widened after signing');
  const signature = params.get('Signature')!;
  const flipped = `${signature.slice(0, 10)}${signature[10] === 'A' ? 'B' : 'A'}${signature.slice(11)}`;
  t.match(check(good.replace(signature, flipped)), { code: 'AccessDenied', reason: /signature/ }, 'one character of the signature changed');
  t.match(
    check(`${base}?Policy=${params.get('Policy')}&Expires=${NOW + 60}&Signature=${signature}&Key-Pair-Id=${KEY_ID}`),
    { code: 'AccessDenied' },
    'Policy and Expires together',
  );
  t.match(check(sign(base, custom(`${video}/*`, { ...until(), DateGreaterThan: { 'AWS:EpochTime': NOW + 30 } }))), { reason: 'not valid yet' });
  t.equal(check(sign(base, custom(`${video}/*`, { ...until(), DateGreaterThan: { 'AWS:EpochTime': NOW - 30 } }))), undefined, 'valid after its start');
  t.match(
    check(
      sign(
        base,
        JSON.stringify({
          Statement: [
            { Resource: `${video}/*`, Condition: until() },
            { Resource: `${CDN}/*`, Condition: until() },
          ],
        }),
      ),
    ),
    { reason: /exactly one statement/ },
  );
  t.match(check(sign(base, policy({ Resource: `${video}/*` }))), { reason: /DateLessThan/ }, 'a policy must expire');
  // A well-signed text that is not JSON.
  const raw = 'not json';
  const rawSignature = createSign('RSA-SHA1').update(raw).sign(trusted.privateKey, 'base64').replace(/\+/g, '-').replace(/=/g, '_').replace(/\//g, '~');
  const rawPolicy = Buffer.from(raw).toString('base64').replace(/=/g, '_');
  t.match(check(`${base}?Policy=${rawPolicy}&Signature=${rawSignature}&Key-Pair-Id=${KEY_ID}`), { reason: /not JSON/ });
});

t.test('checks the viewer address against AWS:SourceIp', async (t) => {
  const base = `${video}/master.m3u8`;
  const within = sign(base, custom(`${video}/*`, { ...until(), IpAddress: { 'AWS:SourceIp': '203.0.113.0/24' } }));
  t.equal(check(within), undefined, 'inside the range');
  t.match(check(within, { clientIp: '198.51.100.7' }), { reason: /not in 203\.0\.113\.0\/24/ }, 'outside the range');
  t.match(check(within, { clientIp: '2001:db8::7' }), { code: 'AccessDenied' }, 'an IPv6 viewer is not in an IPv4 range');
  const exact = sign(base, custom(`${video}/*`, { ...until(), IpAddress: { 'AWS:SourceIp': '203.0.113.7/32' } }));
  t.equal(check(exact), undefined);
  t.match(check(exact, { clientIp: '203.0.113.8' }), { code: 'AccessDenied' });
});

t.test('accepts signed cookies when the URL is unsigned, and the signed URL alone when it is signed', async (t) => {
  const cookies = getSignedCookies({ policy: custom(`${video}/*`), keyPairId: KEY_ID, privateKey: trusted.privateKey });
  const jar = Object.fromEntries(Object.entries(cookies).map(([name, value]) => [name, String(value)]));
  t.equal(check(`${video}/360p/segment_00001.ts`, { cookies: jar }), undefined, 'custom-policy cookies');
  t.match(check(`${CDN}/video-streams/v2/master.m3u8`, { cookies: jar }), { code: 'AccessDenied' }, 'cookies for another video');
  const canned = getSignedCookies({
    url: `${video}/master.m3u8`,
    dateLessThan: new Date((NOW + 60) * 1000),
    keyPairId: KEY_ID,
    privateKey: trusted.privateKey,
  });
  t.ok(canned['CloudFront-Expires']);
  const cannedJar = Object.fromEntries(Object.entries(canned).map(([name, value]) => [name, String(value)]));
  t.equal(check(`${video}/master.m3u8`, { cookies: cannedJar }), undefined, 'canned-policy cookies for their URL');
  t.match(check(`${video}/other.m3u8`, { cookies: cannedJar }), { code: 'AccessDenied' });

  const expiredUrl = sign(`${video}/master.m3u8`, custom(`${video}/*`, until(NOW - 1)));
  t.match(check(expiredUrl, { cookies: jar }), { reason: 'expired' }, 'a bad signed URL is not rescued by good cookies');
  t.match(check(`${video}/master.m3u8?Expires=1`, { cookies: jar }), { code: 'MissingKey' }, 'any signing parameter makes it a signed URL');
  t.equal(check(`${video}/master.m3u8?lang=en`, { cookies: jar }), undefined, 'other parameters do not');

  t.same(parseCookies('a=1; CloudFront-Policy=x~y_; b=%7E; a=2'), { a: '1', 'CloudFront-Policy': 'x~y_', b: '~' });
});
