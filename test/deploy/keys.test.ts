/**
 * `npm run keys` (deploy/keys.ts): a CloudFront RSA 2048 pair outside git, the public half in the
 * form template.yaml's parameter takes, and the SSM command for the private half.
 */
import t, { type Test } from 'tap';
import { execFile } from 'node:child_process';
import { createPrivateKey, createPublicKey, createSign, createVerify } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ensureCloudFrontKeys, keptVersions } from '../../deploy/keys.ts';
import { evaluate, loadTemplate, parameterFailures, parameterValues } from './cfn.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const template = await loadTemplate(new URL('../../template.yaml', import.meta.url));

async function tempDir(t: Test): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'vod-keys-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

t.test('the pair is RSA 2048, the private key 0600, and the template rebuilds the public key from the parameter', async (t) => {
  const dir = await tempDir(t);
  const keys = await ensureCloudFrontKeys({ stage: 'test', dir, region: 'eu-west-1' });
  t.equal(keys.created, true);
  const privatePem = await readFile(keys.privateKeyFile, 'utf8');
  const privateKey = createPrivateKey(privatePem);
  t.equal(privateKey.asymmetricKeyType, 'rsa');
  t.equal(privateKey.asymmetricKeyDetails?.modulusLength, 2048, 'what CloudFront accepts');
  t.equal((await stat(keys.privateKeyFile)).mode & 0o777, 0o600);

  t.same(keys.templateParameters, { CloudFrontPublicKeyA: keys.publicKeyParameter, CloudFrontKeyVersionA: '1' }, 'a first key: slot A, version 1');
  const context = { template, parameters: parameterValues(template, keys.templateParameters) };
  const encodedKey = (evaluate(template.Resources.PlaybackPublicKeyA!.Properties, context) as any).PublicKeyConfig.EncodedKey as string;
  const signature = createSign('RSA-SHA1').update('policy').sign(privateKey);
  t.ok(createVerify('RSA-SHA1').update('policy').verify(createPublicKey(encodedKey), signature), 'CloudFront would verify our signatures with it');
  t.match(keys.publicKeyParameter, new RegExp(template.Parameters!.CloudFrontPublicKeyA!.AllowedPattern!), "the parameter's pattern accepts it");

  // No --overwrite: a version's private key must never change under the public key trusted for it.
  t.equal(
    keys.putParameterCommand,
    `aws ssm put-parameter --name /vod/test/cloudfront-private-key-1 --type SecureString --value file://${path.relative(process.cwd(), keys.privateKeyFile)} --region eu-west-1`,
  );
  const env = (evaluate(template.Globals!.Function!.Environment as any, { ...context, parameters: { ...context.parameters, Stage: 'test' } }) as any).Variables;
  t.equal(env.CLOUDFRONT_PRIVATE_KEY_PARAMETER, keys.parameterName, 'the name the functions read by default');
});

t.test("a rotation's key: the next version, in the other slot, with its own directory and SSM parameter", async (t) => {
  const dir = await tempDir(t);
  const current = await ensureCloudFrontKeys({ stage: 'test', dir });
  t.equal(current.dir, path.join(dir, 'v1'));
  const next = await ensureCloudFrontKeys({ stage: 'test', dir, rotate: true });
  t.equal(next.version, '2');
  t.equal(next.slot, 'B', 'even versions go in slot B');
  t.equal(next.dir, path.join(dir, 'v2'));
  t.not(next.publicKeyParameter, current.publicKeyParameter, 'a new pair');
  t.equal((await ensureCloudFrontKeys({ stage: 'test', dir })).publicKeyParameter, current.publicKeyParameter, 'the current pair is untouched');
  t.same(next.templateParameters, { CloudFrontPublicKeyB: next.publicKeyParameter, CloudFrontKeyVersionB: '2' });
  t.equal(next.parameterName, '/vod/test/cloudfront-private-key-2');
  t.same(await keptVersions(dir), [1, 2]);

  // Deployed beside the current key and then signing: the template reads the parameter npm run keys stored.
  const parameters = parameterValues(template, { Stage: 'test', ...current.templateParameters, ...next.templateParameters, CloudFrontSigningSlot: 'B' });
  t.same(parameterFailures(template, parameters), [], 'the template takes both keys in their slots');
  const env = (evaluate(template.Globals!.Function!.Environment as any, { template, parameters }) as any).Variables;
  t.equal(env.CLOUDFRONT_PRIVATE_KEY_PARAMETER, next.parameterName);
  const encodedKey = (evaluate(template.Resources.PlaybackPublicKeyB!.Properties, { template, parameters }) as any).PublicKeyConfig.EncodedKey as string;
  const signature = createSign('RSA-SHA1')
    .update('policy')
    .sign(createPrivateKey(await readFile(next.privateKeyFile, 'utf8')));
  t.ok(createVerify('RSA-SHA1').update('policy').verify(createPublicKey(encodedKey), signature), "slot B verifies the new key's signatures");

  // The rotation after that goes back to slot A, as version 3.
  const third = await ensureCloudFrontKeys({ stage: 'test', dir, rotate: true });
  t.same([third.version, third.slot, third.templateParameters], ['3', 'A', { CloudFrontPublicKeyA: third.publicKeyParameter, CloudFrontKeyVersionA: '3' }]);
  t.same(parameterFailures(template, parameterValues(template, { ...third.templateParameters, ...next.templateParameters })), []);

  const prefixed = await ensureCloudFrontKeys({ stage: 'test', dir, version: '3', parameterPrefix: '/keys/vod' });
  t.equal(prefixed.parameterName, '/keys/vod-3');
  t.equal(prefixed.publicKeyParameter, third.publicKeyParameter, 'an explicit version reuses its pair');
  await t.rejects(ensureCloudFrontKeys({ stage: 'test', dir, version: 'v2' }), /--version must look like/);
  await t.rejects(ensureCloudFrontKeys({ stage: 'test', dir, version: '0' }), /--version must look like/);
  await t.rejects(ensureCloudFrontKeys({ stage: 'test', dir, version: '4', rotate: true }), /--rotate or --version, not both/);
});

t.test('--rotate needs the current key; stray folders are not versions', async (t) => {
  const dir = await tempDir(t);
  await t.rejects(ensureCloudFrontKeys({ stage: 'test', dir, rotate: true }), /--rotate needs the current key in .*give the next version with --version/);
  await mkdir(path.join(dir, 'v9'));
  await mkdir(path.join(dir, 'notes'));
  await writeFile(path.join(dir, 'v12'), 'a file, not a key folder');
  t.same(await keptVersions(dir), [], 'a version folder counts once it holds a private key');
  await ensureCloudFrontKeys({ stage: 'test', dir, version: '4' });
  t.equal((await ensureCloudFrontKeys({ stage: 'test', dir, rotate: true })).version, '5', 'after the newest kept version, not the first missing one');
});

t.test('the default directory is per stage, a folder per version', async (t) => {
  const keys = await ensureCloudFrontKeys({ stage: 'keystest', version: '7' });
  t.teardown(() => rm(path.join(ROOT, '.keys', 'cloudfront-keystest'), { recursive: true, force: true }));
  t.equal(path.relative(ROOT, keys.dir), path.join('.keys', 'cloudfront-keystest', 'v7'));
  t.equal((await ensureCloudFrontKeys({ stage: 'keystest', rotate: true })).version, '8');
});

t.test('a second run reuses the pair; --force replaces it', async (t) => {
  const dir = await tempDir(t);
  const first = await ensureCloudFrontKeys({ stage: 'test', dir });
  const again = await ensureCloudFrontKeys({ stage: 'test', dir });
  t.equal(again.created, false);
  t.equal(again.publicKeyParameter, first.publicKeyParameter);
  const forced = await ensureCloudFrontKeys({ stage: 'test', dir, force: true });
  t.not(forced.publicKeyParameter, first.publicKeyParameter);
});

t.test("npm run keys prints the parameters and the commands, never the private key; --rotate prints the rotation's steps", async (t) => {
  const dir = await tempDir(t);
  const keys = (...args: string[]) => run(process.execPath, ['--import', 'tsx', 'deploy/keys.ts', '--stage', 'demo', '--dir', dir, ...args], { cwd: ROOT });
  const { stdout } = await keys();
  const privatePem = await readFile(path.join(dir, 'v1', 'private.pem'), 'utf8');
  const privateBody = privatePem.split('\n').filter((line) => line && !line.startsWith('-----'));
  for (const line of privateBody) t.notOk(stdout.includes(line), 'no line of the private key');
  t.notMatch(stdout, /PRIVATE KEY/);
  t.match(stdout, /^Created the CloudFront key pair version 1 in \S+\/v1\//);
  t.match(stdout, /aws ssm put-parameter --name \/vod\/demo\/cloudfront-private-key-1 --type SecureString --value file:\/\/\S+v1\/private\.pem\n/);
  t.match(stdout, /CloudFrontPublicKeyA: [A-Za-z0-9+/=]+( [A-Za-z0-9+/=]+)+\n/);
  t.match(stdout, /CloudFrontKeyVersionA: 1\n/);
  t.match(stdout, /sam deploy --parameter-overrides Stage=demo CloudFrontPublicKeyA="[A-Za-z0-9+/= ]+" CloudFrontKeyVersionA="1"\n/);
  t.match(stdout, /npm run keys -- --rotate/);

  const rotation = await keys('--rotate', '--region', 'eu-west-1');
  t.notMatch(rotation.stdout, /PRIVATE KEY/);
  t.match(rotation.stdout, /^Created the CloudFront key pair version 2 in \S+\/v2\//);
  t.match(rotation.stdout, /Rotating from version 1 \(slot A\) to version 2 \(slot B\)/);
  t.match(rotation.stdout, /--name \/vod\/demo\/cloudfront-private-key-2 --type SecureString --value file:\/\/\S+v2\/private\.pem --region eu-west-1\n/);
  t.match(rotation.stdout, /CloudFrontPublicKeyB: [A-Za-z0-9+/=]+( [A-Za-z0-9+/=]+)+\n/);
  t.match(rotation.stdout, /CloudFrontKeyVersionB: 2\n/);
  t.match(rotation.stdout, /3\. Deploy with CloudFrontSigningSlot: B\./);
  t.match(rotation.stdout, /deploy with CloudFrontPublicKeyA empty/);
  t.match(rotation.stdout, /aws ssm delete-parameter --name \/vod\/demo\/cloudfront-private-key-1 --region eu-west-1\n/);
  t.notMatch(rotation.stdout, /sam deploy --parameter-overrides/, 'overrides would drop the saved answers, slot A among them');
  // The steps, in order.
  const order = ['put-parameter', 'CloudFrontPublicKeyB:', 'CloudFrontSigningSlot: B', 'CloudFrontPublicKeyA empty', 'delete-parameter'].map((text) =>
    rotation.stdout.indexOf(text),
  );
  t.same(
    [...order].sort((a, b) => a - b),
    order,
  );
  t.ok(order.every((index) => index >= 0));

  const third = await keys('--rotate');
  t.match(third.stdout, /Rotating from version 2 \(slot B\) to version 3 \(slot A\)/);
  t.match(third.stdout, /CloudFrontKeyVersionA: 3\n/);
  t.match(third.stdout, /deploy with CloudFrontPublicKeyB empty/);
  t.match(third.stdout, /delete-parameter --name \/vod\/demo\/cloudfront-private-key-2\n/);

  // The README section the output and template.yaml point to, with the same four steps.
  const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('**Rotating the signing key.**'), readme.indexOf('**Deleting the stack**'));
  t.match(section, /--rotate/);
  t.match(
    section,
    /1\. Store the new private key[\s\S]*2\. Deploy with the new key[\s\S]*3\. Deploy with `CloudFrontSigningSlot`[\s\S]*4\. Once every URL signed with the old key has expired/,
  );
});

t.test('the default key directory is git-ignored', async (t) => {
  t.match(await readFile(path.join(ROOT, '.gitignore'), 'utf8'), /^\.keys\/$/m);
});
