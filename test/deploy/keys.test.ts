/**
 * `npm run keys` (deploy/keys.ts): a CloudFront RSA 2048 pair outside git, the public half in the
 * form template.yaml's parameter takes, and the SSM command for the private half.
 */
import t, { type Test } from 'tap';
import { execFile } from 'node:child_process';
import { createPrivateKey, createPublicKey, createSign, createVerify } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ensureCloudFrontKeys } from '../../deploy/keys.ts';
import { evaluate, loadTemplate, parameterValues } from './cfn.ts';

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

  const context = { template, parameters: parameterValues(template, { CloudFrontPublicKey: keys.publicKeyParameter }) };
  const encodedKey = (evaluate(template.Resources.CloudFrontPublicKeyResource!.Properties, context) as any).PublicKeyConfig.EncodedKey as string;
  const signature = createSign('RSA-SHA1').update('policy').sign(privateKey);
  t.ok(createVerify('RSA-SHA1').update('policy').verify(createPublicKey(encodedKey), signature), 'CloudFront would verify our signatures with it');
  t.match(keys.publicKeyParameter, new RegExp(template.Parameters!.CloudFrontPublicKey!.AllowedPattern!), 'the parameter\'s pattern accepts it');

  t.equal(
    keys.putParameterCommand,
    `aws ssm put-parameter --name /vod/test/cloudfront-private-key --type SecureString --value file://${path.relative(process.cwd(), keys.privateKeyFile)} --overwrite --region eu-west-1`,
  );
  const env = (evaluate(template.Globals!.Function!.Environment as any, { ...context, parameters: { ...context.parameters, Stage: 'test' } }) as any).Variables;
  t.equal(env.CLOUDFRONT_PRIVATE_KEY_PARAMETER, keys.parameterName, 'the name the functions read by default');
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

t.test('npm run keys prints the parameter and the command, never the private key', async (t) => {
  const dir = await tempDir(t);
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'deploy/keys.ts', '--stage', 'demo', '--dir', dir], { cwd: ROOT });
  const privatePem = await readFile(path.join(dir, 'private.pem'), 'utf8');
  const privateBody = privatePem.split('\n').filter((line) => line && !line.startsWith('-----'));
  for (const line of privateBody) t.notOk(stdout.includes(line), 'no line of the private key');
  t.notMatch(stdout, /PRIVATE KEY/);
  t.match(stdout, /aws ssm put-parameter --name \/vod\/demo\/cloudfront-private-key --type SecureString --value file:\/\/\S+private\.pem --overwrite/);
  t.match(stdout, /CloudFrontPublicKey: [A-Za-z0-9+/=]+( [A-Za-z0-9+/=]+)+\n/);
});

t.test('the default key directory is git-ignored', async (t) => {
  t.match(await readFile(path.join(ROOT, '.gitignore'), 'utf8'), /^\.keys\/$/m);
});
