/**
 * Local secrets kept as JSON files (deploy/local/key-file.ts), as the issuer and the CloudFront
 * stand-in keep their key pairs: made once, private to the user, the same for racing processes.
 */
import t from 'tap';
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { loadOrCreateKeyFile } from '../../../deploy/local/key-file.ts';
import { loadCloudFrontKeyPair } from '../../../deploy/local/cloudfront/cloudfront.ts';
import { loadIssuerKeys } from '../../../deploy/local/cognito/issuer.ts';
import { tempDir } from '../../helpers/media.ts';

t.test('made once, mode 0600, then read back without making another', async (t) => {
  const file = path.join(await tempDir(t), 'nested', 'secret.json');
  let made = 0;
  const create = () => ({ secret: `s${++made}` });
  t.same(await loadOrCreateKeyFile(file, create), { secret: 's1' });
  t.equal((await stat(file)).mode & 0o777, 0o600, 'readable by its owner only');
  t.same(await loadOrCreateKeyFile(file, create), { secret: 's1' }, 'the same secret next time');
  t.equal(made, 1, 'made once');
});

t.test('racing creators all get the one file that was written first', async (t) => {
  const file = path.join(await tempDir(t), 'secret.json');
  let made = 0;
  const results = await Promise.all(Array.from({ length: 5 }, () => loadOrCreateKeyFile(file, async () => ({ secret: `s${++made}` }))));
  t.equal(made, 5, 'each racer made its own');
  t.equal(new Set(results.map((result) => result.secret)).size, 1, 'but all return the same one');
});

t.test('an unreadable file is an error, not a reason to make a new secret', async (t) => {
  const file = path.join(await tempDir(t), 'secret.json');
  await mkdir(file); // a directory where the file should be: EISDIR
  await t.rejects(
    loadOrCreateKeyFile(file, () => ({ secret: 'new' })),
    { code: 'EISDIR' },
  );
});

t.test('the issuer and CloudFront key pairs persist in their folders', async (t) => {
  const dir = await tempDir(t);
  const cloudfront = await loadCloudFrontKeyPair(dir);
  t.match(cloudfront, { keyPairId: /^K[0-9A-F]{13}$/, publicKeyPem: /BEGIN PUBLIC KEY/, privateKeyPem: /BEGIN RSA PRIVATE KEY/ });
  t.same(await loadCloudFrontKeyPair(dir), cloudfront);
  const issuer = await loadIssuerKeys(dir);
  t.match(issuer, { kid: /^local-/, publicJwk: { kty: 'RSA', alg: 'RS256', use: 'sig' }, privateJwk: { kty: 'RSA', d: String } });
  t.same(await loadIssuerKeys(dir), issuer);
});
