/**
 * The Lambda@Edge manifest signer on its own: playlist rewriting on tricky playlists (every URI
 * form RFC 8216 allows, byte-for-byte preservation of everything else), and the handler fed the
 * documented origin-request event, with an in-memory bucket.
 */
import t from 'tap';
import type { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { CloudFrontRequest, CloudFrontRequestEvent, CloudFrontResultResponse, Context } from 'aws-lambda';
import {
  GENERATED_RESPONSE_LIMIT_BYTES,
  bucketOfOriginDomain,
  createManifestSigner,
  generatedResponseSize,
  handler,
  rewritePlaylist,
} from '../../edge/manifest-signer.ts';
import { FIXTURE_VIDEO_ID, loadEventFixture } from '../helpers/fixtures.ts';
import { mediaPlaylist } from '../helpers/playlists.ts';

const HOST = 'd111111abcdef8.cloudfront.net';
const Q = 'Policy=eyJQ~_-&Signature=c2ln~bmF-0dXJl_&Key-Pair-Id=K2JCJMDEHXQW5F';
const options = { query: Q, sameHosts: [HOST] };

t.test('signs every URI of a master playlist and keeps every other byte', async (t) => {
  const master = [
    '#EXTM3U',
    '# written by hand: comments and blank lines stay',
    '',
    '#EXT-X-VERSION:6',
    '#EXT-X-INDEPENDENT-SEGMENTS',
    '#EXT-X-SESSION-DATA:DATA-ID="com.example.lyrics",URI="lyrics.json"',
    '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aac",NAME="English, US",LANGUAGE="en",DEFAULT=YES,URI="audio/en/index.m3u8"',
    '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="Deutsch",LANGUAGE="de",URI="subs/de.m3u8?lang=de"',
    '#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID="cc",NAME="CC1",INSTREAM-ID="CC1"',
    '#EXT-X-STREAM-INF:BANDWIDTH=5628000,RESOLUTION=1920x1080,CODECS="avc1.640028,mp4a.40.2",AUDIO="aac",SUBTITLES="subs"',
    '1080p/index.m3u8',
    '#EXT-X-STREAM-INF:BANDWIDTH=928000,RESOLUTION=640x360,CODECS="avc1.64001e,mp4a.40.2",AUDIO="aac"',
    `https://${HOST}/video-streams/${FIXTURE_VIDEO_ID}/360p/index.m3u8`,
    '#EXT-X-STREAM-INF:BANDWIDTH=128000,CODECS="mp4a.40.2"',
    'https://elsewhere.example.com/radio.m3u8',
    '#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=86000,RESOLUTION=640x360,URI="360p/iframes.m3u8",CODECS="avc1.64001e"',
    '#EXT-X-DATERANGE:ID="promo",START-DATE="2026-01-01T00:00:00Z",X-ASSET-URI="promo/spot.m3u8"',
    '',
  ].join('\n');
  const expected = [
    '#EXTM3U',
    '# written by hand: comments and blank lines stay',
    '',
    '#EXT-X-VERSION:6',
    '#EXT-X-INDEPENDENT-SEGMENTS',
    `#EXT-X-SESSION-DATA:DATA-ID="com.example.lyrics",URI="lyrics.json?${Q}"`,
    `#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aac",NAME="English, US",LANGUAGE="en",DEFAULT=YES,URI="audio/en/index.m3u8?${Q}"`,
    `#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",NAME="Deutsch",LANGUAGE="de",URI="subs/de.m3u8?lang=de&${Q}"`,
    '#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID="cc",NAME="CC1",INSTREAM-ID="CC1"',
    '#EXT-X-STREAM-INF:BANDWIDTH=5628000,RESOLUTION=1920x1080,CODECS="avc1.640028,mp4a.40.2",AUDIO="aac",SUBTITLES="subs"',
    `1080p/index.m3u8?${Q}`,
    '#EXT-X-STREAM-INF:BANDWIDTH=928000,RESOLUTION=640x360,CODECS="avc1.64001e,mp4a.40.2",AUDIO="aac"',
    `https://${HOST}/video-streams/${FIXTURE_VIDEO_ID}/360p/index.m3u8?${Q}`,
    '#EXT-X-STREAM-INF:BANDWIDTH=128000,CODECS="mp4a.40.2"',
    'https://elsewhere.example.com/radio.m3u8',
    `#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=86000,RESOLUTION=640x360,URI="360p/iframes.m3u8?${Q}",CODECS="avc1.64001e"`,
    '#EXT-X-DATERANGE:ID="promo",START-DATE="2026-01-01T00:00:00Z",X-ASSET-URI="promo/spot.m3u8"',
    '',
  ].join('\n');
  t.equal(rewritePlaylist(master, options), expected);
});

t.test('signs every URI of a media playlist: keys, init sections, queries, absolute and odd forms', async (t) => {
  const lines = (signed: boolean) => {
    const s = (uri: string, sep = '?') => (signed ? `${uri}${sep}${Q}` : uri);
    return [
      '#EXTM3U',
      '#EXT-X-VERSION:7',
      '#EXT-X-TARGETDURATION:4',
      '#EXT-X-PLAYLIST-TYPE:VOD',
      `#EXT-X-KEY:METHOD=AES-128,URI="${s('../keys/k1.bin')}",IV=0x00000000000000000000000000000001`,
      `#EXT-X-MAP:URI="${s('init_0.mp4')}",BYTERANGE="720@0"`,
      '#EXTINF:4.000000,',
      s('segment_00000.m4s'),
      '#EXTINF:4.000000,',
      s('segment_00001.m4s?v=2', '&'),
      '#EXTINF:4.000000,title with, a comma',
      s('segment_00002.m4s?', ''),
      '#EXT-X-DISCONTINUITY',
      '#EXT-X-KEY:METHOD=SAMPLE-AES,URI="skd://fairplay-key-42",KEYFORMAT="com.apple.streamingkeydelivery"',
      '#EXT-X-KEY:METHOD=NONE',
      '#EXTINF:4.000000,',
      s(`https://${HOST}/video-streams/${FIXTURE_VIDEO_ID}/720p/segment_00003.m4s`),
      '#EXTINF:4.000000,',
      s(`//${HOST}/video-streams/${FIXTURE_VIDEO_ID}/720p/segment_00004.m4s`),
      '#EXTINF:4.000000,',
      'https://ads.example.com/spot.ts',
      '#EXTINF:4.000000,',
      signed ? `segment_00005.m4s?${Q}#t=1` : 'segment_00005.m4s#t=1',
      '#EXTINF:4.000000,',
      'segment_00006.m4s?Policy=other&Signature=other&Key-Pair-Id=K9',
      '#EXT-X-BYTERANGE:1000@0',
      '#EXTINF:4.000000,',
      s('../single/file.m4s'),
      '#EXT-X-ENDLIST',
    ];
  };
  // CRLF line endings and no newline at the end survive.
  const input = lines(false).join('\r\n');
  const output = rewritePlaylist(input, options);
  t.equal(output, lines(true).join('\r\n'), 'each of our URIs signed, every other byte as it was');
  t.notOk(output.endsWith('\n'), 'no newline added at the end');
  t.equal(rewritePlaylist('\uFEFF#EXTM3U\nsegment.ts\n', options), `\uFEFF#EXTM3U\nsegment.ts?${Q}\n`, 'a byte order mark is kept and not taken for a URI');
});

t.test('reads the S3 origin of the event', async (t) => {
  t.same(bucketOfOriginDomain('vod-bucket.s3.us-east-1.amazonaws.com'), { bucket: 'vod-bucket', region: 'us-east-1' });
  t.same(bucketOfOriginDomain('vod-bucket.s3.amazonaws.com'), { bucket: 'vod-bucket' });
  t.same(bucketOfOriginDomain('my.dotted.bucket.s3.eu-west-1.amazonaws.com'), { bucket: 'my.dotted.bucket', region: 'eu-west-1' });
  t.throws(() => bucketOfOriginDomain('origin.example.com'));
});

/** An in-memory bucket behind the S3 client interface, recording what was asked for. */
function memoryS3(objects: Record<string, string>) {
  const requests: Array<{ region: string; bucket?: string; key?: string }> = [];
  const clientFor = (region: string) =>
    ({
      send: async (command: GetObjectCommand) => {
        const { Bucket, Key } = command.input;
        requests.push({ region, bucket: Bucket, key: Key });
        const text = Bucket === 'vod-bucket' && Key !== undefined ? objects[Key] : undefined;
        if (text === undefined) throw Object.assign(new Error('NoSuchKey'), { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } });
        return { Body: { transformToString: async () => text } };
      },
    }) as unknown as S3Client;
  return { clientFor, requests };
}

const masterKey = `video-streams/${FIXTURE_VIDEO_ID}/master.m3u8`;
const mediaKey = `video-streams/${FIXTURE_VIDEO_ID}/360p/index.m3u8`;
const MASTER = '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=928000,RESOLUTION=640x360\n360p/index.m3u8\n';

async function originRequest(uri = `/${masterKey}`, querystring?: string): Promise<CloudFrontRequestEvent> {
  const event = await loadEventFixture<CloudFrontRequestEvent>('cloudfront/origin-request');
  event.Records[0]!.cf.request.uri = uri;
  if (querystring !== undefined) event.Records[0]!.cf.request.querystring = querystring;
  return event;
}

const asResponse = (result: unknown) => result as CloudFrontResultResponse;
const headerValues = (response: CloudFrontResultResponse, name: string) => (response.headers?.[name] ?? []).map((header) => header.value);

t.test('answers a manifest from the documented origin-request event: signed URIs, no-store, playlist type', async (t) => {
  const event = await originRequest();
  const query = event.Records[0]!.cf.request.querystring;
  const s3 = memoryS3({ [masterKey]: MASTER });
  const response = asResponse(await createManifestSigner({ s3: s3.clientFor })(event));
  t.same(s3.requests, [{ region: 'us-east-1', bucket: 'vod-bucket', key: masterKey }], 'bucket, region and key from the event');
  t.equal(response.status, '200');
  t.same(headerValues(response, 'cache-control'), ['no-store']);
  t.same(headerValues(response, 'content-type'), ['application/vnd.apple.mpegurl']);
  t.equal(response.headers?.['content-type']?.[0]?.key, 'Content-Type', 'header keys in the documented shape');
  t.equal(response.bodyEncoding, 'text');
  t.equal(response.body, MASTER.replace('360p/index.m3u8', `360p/index.m3u8?${query}`));
  t.notOk(response.headers?.['set-cookie'], 'a short playlist needs no cookies');
});

t.test('passes requests that are not for a playlist through untouched', async (t) => {
  const s3 = memoryS3({});
  const event = await originRequest(`/video-streams/${FIXTURE_VIDEO_ID}/360p/segment_00000.ts`);
  const request = event.Records[0]!.cf.request;
  const before = structuredClone(request);
  const result = (await createManifestSigner({ s3: s3.clientFor })(event)) as CloudFrontRequest;
  t.equal(result, request, 'the same request object goes on to the origin');
  t.same(result, before, 'unchanged');
  t.same(s3.requests, [], 'S3 not read');
  t.equal(await handler(event, {} as Context, () => undefined), request, 'the exported Lambda handler does the same');
});

t.test('answers 404 with no-store when the playlist does not exist', async (t) => {
  const response = asResponse(await createManifestSigner({ s3: memoryS3({}).clientFor })(await originRequest()));
  t.equal(response.status, '404');
  t.same(headerValues(response, 'cache-control'), ['no-store']);
});

t.test('a viewer with signed cookies (no signing query) gets the playlist as stored', async (t) => {
  const response = asResponse(await createManifestSigner({ s3: memoryS3({ [masterKey]: MASTER }).clientFor })(await originRequest(`/${masterKey}`, '')));
  t.equal(response.body, MASTER);
  t.notOk(response.headers?.['set-cookie']);
});

t.test('a playlist too large to sign per URI is answered with signed cookies for the video folder', async (t) => {
  const event = await originRequest(`/${mediaKey}`);
  const query = event.Records[0]!.cf.request.querystring;
  const hours3 = mediaPlaylist(2700);
  const s3 = memoryS3({ [mediaKey]: hours3 });

  const response = asResponse(await createManifestSigner({ s3: s3.clientFor })(event));
  const size = generatedResponseSize(response);
  t.ok(size <= GENERATED_RESPONSE_LIMIT_BYTES, `3 h of 4 s segments: ${size} bytes with cookies`);
  const signedSize = Buffer.byteLength(rewritePlaylist(hours3, { query, sameHosts: [] }));
  t.ok(signedSize > GENERATED_RESPONSE_LIMIT_BYTES, `signed per URI it would be ${signedSize} bytes`);
  t.equal(response.body, hours3, 'URIs stay as stored');
  const params = new URLSearchParams(query);
  const path = `/video-streams/${FIXTURE_VIDEO_ID}/`;
  t.same(headerValues(response, 'set-cookie'), [
    `CloudFront-Policy=${params.get('Policy')}; Path=${path}; Secure; HttpOnly; SameSite=None`,
    `CloudFront-Signature=${params.get('Signature')}; Path=${path}; Secure; HttpOnly; SameSite=None`,
    `CloudFront-Key-Pair-Id=${params.get('Key-Pair-Id')}; Path=${path}; Secure; HttpOnly; SameSite=None`,
  ]);
  t.same(headerValues(response, 'cache-control'), ['no-store']);

  const local = asResponse(await createManifestSigner({ s3: s3.clientFor, secureCookies: false })(event));
  t.match(headerValues(local, 'set-cookie')[0], /; HttpOnly; SameSite=Lax$/, 'over plain http: no Secure, so SameSite=Lax');

  const shorter = mediaPlaylist(1000);
  const signed = asResponse(await createManifestSigner({ s3: memoryS3({ [mediaKey]: shorter }).clientFor })(event));
  t.notOk(signed.headers?.['set-cookie'], '1000 segments (66 min) still fit signed per URI');
  t.equal(signed.body, rewritePlaylist(shorter, { query, sameHosts: [] }));
});

t.test('fails loudly if even the unsigned playlist is over the limit', async (t) => {
  const event = await originRequest(`/${mediaKey}`);
  const signer = createManifestSigner({ s3: memoryS3({ [mediaKey]: mediaPlaylist(100) }).clientFor, limitBytes: 1000 });
  await t.rejects(signer(event), /over the 1000-byte limit/);
});

t.test('a playlist path that leaves the signed video folder is refused before S3 is read', async (t) => {
  const s3 = memoryS3({ [masterKey]: MASTER, 'uploads/other/source.m3u8': '#EXTM3U\n# secret\n', 'video-streams/other/master.m3u8': '#EXTM3U\n# secret\n' });
  const signer = createManifestSigner({ s3: s3.clientFor });
  const folder = `/video-streams/${FIXTURE_VIDEO_ID}`;
  const escapes = [
    `${folder}/..%2F..%2Fuploads%2Fother%2Fsource.m3u8`,
    `${folder}/%2e%2e/%2E%2E/uploads/other/source.m3u8`,
    `${folder}/../other/master.m3u8`,
    `${folder}/..%5Cother%5Cmaster.m3u8`,
    `${folder}/..\\other\\master.m3u8`,
    `${folder}/..%252Fother%252Fmaster.m3u8`,
    `${folder}//master.m3u8`,
    `${folder}/./master.m3u8`,
    `${folder}/%c0%ae%c0%ae/other/master.m3u8`,
    '/video-streams/other/master.m3u8', // another video than the policy names
    '/uploads/other/source.m3u8', // outside every video folder
  ];
  for (const uri of escapes) {
    const response = asResponse(await signer(await originRequest(uri)));
    t.equal(response.status, '403', uri);
    t.notMatch(response.body ?? '', /secret/);
  }
  t.same(s3.requests, [], 'S3 was never asked for any of them');

  const plain = asResponse(await signer(await originRequest(`${folder}/master.m3u8`)));
  t.equal(plain.status, '200', 'the control: the folder the policy names');
  const cookieViewer = asResponse(await signer(await originRequest('/video-streams/other/master.m3u8', '')));
  t.equal(cookieViewer.status, '200', 'with no policy in the query (signed cookies) any video folder, as CloudFront checked the cookies');
  const cookieEscape = asResponse(await signer(await originRequest(`${folder}/..%2F..%2Fuploads%2Fother%2Fsource.m3u8`, '')));
  t.equal(cookieEscape.status, '403', '...but never out of it');
});
