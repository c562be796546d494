/**
 * `npm run keys [-- --stage prod --region eu-west-1]`: the CloudFront key pair that signs playback
 * URLs. CloudFront wants RSA 2048 ("Create key pairs for your signers" in the CloudFront guide).
 *
 * - The pair is written to `.keys/cloudfront-<stage>/` (git-ignored; the private key 0600) and
 *   reused on later runs, so the printed values stay the same; `--force` makes a new pair.
 * - Prints the value of template.yaml's CloudFrontPublicKey parameter: the PEM body's lines
 *   joined with spaces, because a template parameter cannot hold newlines (the template splits
 *   them back into a PEM).
 * - Prints the `aws ssm put-parameter --type SecureString` command that stores the private key
 *   where the API function reads it (the parameter name the template defaults to). The command
 *   reads the key from the file (`file://`), so it never lands in shell history or this repo.
 */
import { generateKeyPairSync, createPrivateKey, createPublicKey } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface KeyOptions {
  stage: string;
  /** Directory for the pair; default `.keys/cloudfront-<stage>` under the repository. */
  dir?: string;
  /** SSM parameter name; default the template's `/vod/<stage>/cloudfront-private-key`. */
  parameterName?: string;
  region?: string;
  force?: boolean;
}

export interface KeyResult {
  dir: string;
  privateKeyFile: string;
  publicKeyFile: string;
  created: boolean;
  /** The value for template.yaml's CloudFrontPublicKey parameter. */
  publicKeyParameter: string;
  parameterName: string;
  putParameterCommand: string;
}

export const defaultParameterName = (stage: string) => `/vod/${stage}/cloudfront-private-key`;

/** PEM → its base64 lines joined by single spaces (no header, footer or newlines). */
export function publicKeyParameterOf(publicKeyPem: string): string {
  return publicKeyPem
    .split(/\r?\n/)
    .filter((line) => line !== '' && !line.startsWith('-----'))
    .join(' ');
}

const exists = (file: string) => readFile(file).then(() => true, () => false);

/** Single-quotes for a POSIX shell. */
const shellQuote = (value: string) => (/^[A-Za-z0-9_./:=@-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`);

export async function ensureCloudFrontKeys(options: KeyOptions): Promise<KeyResult> {
  if (!/^[a-z0-9][a-z0-9-]{0,15}$/.test(options.stage)) {
    throw new Error(`--stage must look like the template's Stage parameter (a-z, 0-9, -): ${options.stage}`);
  }
  const dir = path.resolve(ROOT, options.dir ?? path.join('.keys', `cloudfront-${options.stage}`));
  const privateKeyFile = path.join(dir, 'private.pem');
  const publicKeyFile = path.join(dir, 'public.pem');
  await mkdir(dir, { recursive: true, mode: 0o700 });

  let created = false;
  if (options.force || !(await exists(privateKeyFile))) {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    await writeFile(privateKeyFile, privateKey, { mode: 0o600 });
    await chmod(privateKeyFile, 0o600);
    await writeFile(publicKeyFile, publicKey);
    created = true;
  }
  // The public key is always derived again from the private one, so the two cannot disagree.
  const publicKeyPem = createPublicKey(createPrivateKey(await readFile(privateKeyFile, 'utf8')))
    .export({ type: 'spki', format: 'pem' })
    .toString();
  if (!created) await writeFile(publicKeyFile, publicKeyPem);

  const parameterName = options.parameterName ?? defaultParameterName(options.stage);
  const putParameterCommand = [
    'aws ssm put-parameter',
    `--name ${shellQuote(parameterName)}`,
    '--type SecureString',
    `--value ${shellQuote(`file://${path.relative(process.cwd(), privateKeyFile) || privateKeyFile}`)}`,
    '--overwrite',
    ...(options.region ? [`--region ${shellQuote(options.region)}`] : []),
  ].join(' ');
  return {
    dir,
    privateKeyFile,
    publicKeyFile,
    created,
    publicKeyParameter: publicKeyParameterOf(publicKeyPem),
    parameterName,
    putParameterCommand,
  };
}

function parseArgs(argv: string[]): KeyOptions {
  const value = (name: string) => {
    const index = argv.indexOf(name);
    if (index === -1) return undefined;
    const next = argv[index + 1];
    if (next === undefined || next.startsWith('--')) throw new Error(`${name} needs a value`);
    return next;
  };
  const dir = value('--dir');
  const parameterName = value('--parameter-name');
  const region = value('--region');
  return {
    stage: value('--stage') ?? 'prod',
    ...(dir ? { dir } : {}),
    ...(parameterName ? { parameterName } : {}),
    ...(region ? { region } : {}),
    force: argv.includes('--force'),
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const options = parseArgs(process.argv.slice(2));
  const result = await ensureCloudFrontKeys(options);
  const rel = (file: string) => path.relative(process.cwd(), file);
  process.stdout.write(
    [
      `${result.created ? 'Created' : 'Reusing'} the CloudFront key pair in ${rel(result.dir)}/ (git-ignored; keep private.pem secret).`,
      '',
      '1. Store the private key where the API function reads it (an SSM SecureString):',
      '',
      `   ${result.putParameterCommand}`,
      '',
      '2. Give the public key to the template (sam deploy --guided asks for CloudFrontPublicKey):',
      '',
      `   CloudFrontPublicKey: ${result.publicKeyParameter}`,
      '',
      `   or: sam deploy --parameter-overrides Stage=${options.stage} CloudFrontPublicKey="${result.publicKeyParameter}"`,
      '',
      ...(options.parameterName
        ? [`   and CloudFrontPrivateKeyParameter=${result.parameterName}, since it is not the default name.`, '']
        : []),
    ].join('\n'),
  );
}
