/**
 * `npm run keys [-- --stage prod --region eu-west-1]`: a CloudFront key pair that signs playback
 * URLs. CloudFront wants RSA 2048 ("Create key pairs for your signers" in the CloudFront guide).
 * `npm run keys -- --stage prod --rotate`: the next key of a rotation (README, "Rotating the
 * signing key").
 *
 * - Each key has a version: 1 for the first, the newest version kept here plus one for
 *   `--rotate`, or `--version N`. The version names the key everywhere (the CloudFront public key,
 *   the SSM parameter of the private key) and chooses its slot in template.yaml: odd versions go
 *   in slot A, even ones in slot B, so a rotation's key always lands in the slot the current key
 *   does not occupy, and the template refuses any other pairing.
 * - The pair is written to `.keys/cloudfront-<stage>/v<version>/` (git-ignored; the private key
 *   0600) and reused on later runs, so the printed values stay the same; `--force` makes a new
 *   pair for that version (only before it is deployed: CloudFront cannot change a public key).
 * - Prints the values of the slot's template parameters: CloudFrontPublicKey<slot>, the PEM body's
 *   lines joined with spaces, because a template parameter cannot hold newlines (the template
 *   splits them back into a PEM), and CloudFrontKeyVersion<slot>.
 * - Prints the `aws ssm put-parameter --type SecureString` command that stores the private key
 *   where the API function reads it: `<prefix>-<version>`, the template's default prefix unless
 *   `--parameter-prefix` says otherwise. Without `--overwrite`: a version's private key never
 *   changes, since the public key CloudFront trusts for it cannot. The command reads the key from
 *   the file (`file://`), so it never lands in shell history or this repo.
 */
import { generateKeyPairSync, createPrivateKey, createPublicKey } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export type KeySlot = 'A' | 'B';

export interface KeyOptions {
  stage: string;
  /** The key's version, a positive integer; default 1, or the next one with `rotate`. */
  version?: string;
  /** Make the version after the newest one in `dir`. */
  rotate?: boolean;
  /** The stage's key directory, one `v<version>/` folder per key; default `.keys/cloudfront-<stage>` under the repository. */
  dir?: string;
  /** SSM parameter prefix; default the template's `/vod/<stage>/cloudfront-private-key`. */
  parameterPrefix?: string;
  region?: string;
  force?: boolean;
}

export interface KeyResult {
  /** The pair's directory: `<dir>/v<version>`. */
  dir: string;
  privateKeyFile: string;
  publicKeyFile: string;
  created: boolean;
  version: string;
  /** The template slot of this version: A for odd versions, B for even ones. */
  slot: KeySlot;
  /** The public key in the form of template.yaml's CloudFrontPublicKey<slot> parameter. */
  publicKeyParameter: string;
  /** The template parameters that put this key in its slot. */
  templateParameters: Record<string, string>;
  /** The SSM parameter of the private key: `<prefix>-<version>`. */
  parameterName: string;
  putParameterCommand: string;
}

export const defaultParameterPrefix = (stage: string) => `/vod/${stage}/cloudfront-private-key`;

/** The template slot a version goes in (template.yaml's CloudFrontKeyVersionA/B patterns). */
export const slotOf = (version: string): KeySlot => (Number(version) % 2 === 1 ? 'A' : 'B');

/** PEM → its base64 lines joined by single spaces (no header, footer or newlines). */
export function publicKeyParameterOf(publicKeyPem: string): string {
  return publicKeyPem
    .split(/\r?\n/)
    .filter((line) => line !== '' && !line.startsWith('-----'))
    .join(' ');
}

const exists = (file: string) =>
  readFile(file).then(
    () => true,
    () => false,
  );

/** Single-quotes for a POSIX shell. */
const shellQuote = (value: string) => (/^[A-Za-z0-9_./:=@-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`);

const VERSION = /^[1-9][0-9]{0,8}$/;

/** The versions kept in a stage's key directory (folders `v<version>` holding a private key), in order. */
export async function keptVersions(dir: string): Promise<number[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  const versions: number[] = [];
  for (const entry of entries) {
    const version = /^v(.+)$/.exec(entry.name)?.[1];
    if (entry.isDirectory() && version && VERSION.test(version) && (await exists(path.join(dir, entry.name, 'private.pem')))) versions.push(Number(version));
  }
  return versions.sort((a, b) => a - b);
}

export async function ensureCloudFrontKeys(options: KeyOptions): Promise<KeyResult> {
  if (!/^[a-z0-9][a-z0-9-]{0,15}$/.test(options.stage)) {
    throw new Error(`--stage must look like the template's Stage parameter (a-z, 0-9, -): ${options.stage}`);
  }
  const stageDir = path.resolve(ROOT, options.dir ?? path.join('.keys', `cloudfront-${options.stage}`));
  let version = options.version ?? '1';
  if (options.rotate) {
    if (options.version) throw new Error('--rotate chooses the version itself: give --rotate or --version, not both');
    const newest = (await keptVersions(stageDir)).at(-1);
    if (newest === undefined) {
      throw new Error(
        `--rotate needs the current key in ${path.relative(process.cwd(), stageDir) || stageDir}/v<version>/; made elsewhere, give the next version with --version instead`,
      );
    }
    version = String(newest + 1);
  }
  if (!VERSION.test(version)) {
    throw new Error(`--version must look like the template's CloudFrontKeyVersion parameters (a positive integer): ${version}`);
  }
  const slot = slotOf(version);
  const dir = path.join(stageDir, `v${version}`);
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

  const parameterName = `${options.parameterPrefix ?? defaultParameterPrefix(options.stage)}-${version}`;
  const putParameterCommand = [
    'aws ssm put-parameter',
    `--name ${shellQuote(parameterName)}`,
    '--type SecureString',
    `--value ${shellQuote(`file://${path.relative(process.cwd(), privateKeyFile) || privateKeyFile}`)}`,
    ...(options.region ? [`--region ${shellQuote(options.region)}`] : []),
  ].join(' ');
  const publicKeyParameter = publicKeyParameterOf(publicKeyPem);
  return {
    dir,
    privateKeyFile,
    publicKeyFile,
    created,
    version,
    slot,
    publicKeyParameter,
    templateParameters: { [`CloudFrontPublicKey${slot}`]: publicKeyParameter, [`CloudFrontKeyVersion${slot}`]: version },
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
  const parameterPrefix = value('--parameter-prefix');
  const region = value('--region');
  const version = value('--version');
  return {
    stage: value('--stage') ?? 'prod',
    ...(version ? { version } : {}),
    ...(dir ? { dir } : {}),
    ...(parameterPrefix ? { parameterPrefix } : {}),
    ...(region ? { region } : {}),
    rotate: argv.includes('--rotate'),
    force: argv.includes('--force'),
  };
}

/** What to do with a key: a first deployment's two steps, or a rotation's four. */
export function instructions(result: KeyResult, options: Pick<KeyOptions, 'stage' | 'parameterPrefix' | 'region'>): string[] {
  const slotParameters = Object.entries(result.templateParameters).map(([name, value]) => `     ${name}: ${value}`);
  const prefixNote = options.parameterPrefix
    ? [`   and CloudFrontPrivateKeyParameterPrefix: ${options.parameterPrefix}, since it is not the default prefix.`]
    : [];
  if (result.version === '1') {
    const overrides = Object.entries(result.templateParameters)
      .map(([name, value]) => `${name}="${value}"`)
      .join(' ');
    return [
      '1. Store the private key where the API function reads it (an SSM SecureString):',
      `     ${result.putParameterCommand}`,
      '2. Deploy with the public key in slot A (sam deploy --guided asks for these):',
      ...slotParameters,
      ...prefixNote,
      // --parameter-overrides replaces every saved answer: right for a first deployment only.
      `   or: sam deploy --parameter-overrides Stage=${options.stage} ${overrides}`,
      'Later keys: npm run keys -- --rotate (README, "Rotating the signing key").',
    ];
  }
  const previous = String(Number(result.version) - 1);
  const other: KeySlot = result.slot === 'A' ? 'B' : 'A';
  const previousParameter = `${options.parameterPrefix ?? defaultParameterPrefix(options.stage)}-${previous}`;
  return [
    `Rotating from version ${previous} (slot ${other}) to version ${result.version} (slot ${result.slot}), README "Rotating the signing key".`,
    'Each deploy is `sam deploy --guided` keeping every other answer (--parameter-overrides would drop them).',
    '1. Store the private key where the API function reads it (an SSM SecureString):',
    `     ${result.putParameterCommand}`,
    `2. Deploy with the new key in slot ${result.slot}, which must be empty (a previous rotation's step 4 empties it):`,
    `   CloudFront trusts both keys, the API still signs with version ${previous}.`,
    ...slotParameters,
    ...prefixNote,
    `3. Deploy with CloudFrontSigningSlot: ${result.slot}. New playback URLs are signed with version ${result.version}.`,
    `4. Once every URL signed with version ${previous} has expired (PlaybackUrlTtlSeconds after step 3, or the longest`,
    `   video's duration plus PLAYBACK_URL_MARGIN_SECONDS if that is longer), deploy with CloudFrontPublicKey${other} empty, then`,
    `     aws ssm delete-parameter --name ${shellQuote(previousParameter)}${options.region ? ` --region ${shellQuote(options.region)}` : ''}`,
  ];
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const options = parseArgs(process.argv.slice(2));
  const result = await ensureCloudFrontKeys(options);
  process.stdout.write(
    [
      `${result.created ? 'Created' : 'Reusing'} the CloudFront key pair version ${result.version} in ${path.relative(process.cwd(), result.dir)}/ (git-ignored; keep private.pem secret).`,
      '',
      ...instructions(result, options),
      '',
    ].join('\n'),
  );
}
