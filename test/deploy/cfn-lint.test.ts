/**
 * The templates pass AWS's CloudFormation linter, which applies the SAM transform first, knows
 * every current resource type and property, and checks references, conditions and dependency
 * cycles.
 *
 * Why not the npm package `cfn-lint` (1.9.7, no longer installed): its bundled resource specification is version
 * 2.29.0 from 2019 (383 resource types). It rejects valid current templates: it knows no
 * AWS::Serverless::HttpApi, CloudFront OriginAccessControl, KeyGroup, PublicKey, CachePolicy,
 * OriginRequestPolicy or ResponseHeadersPolicy, no AWS::Lambda::EventInvokeConfig, no
 * Architectures property, and fails on intrinsic functions in SAM Globals. AWS's cfn-lint
 * (Python, with the SAM translator) is installed on this project's machines (the node kind's
 * package list has cfn-lint 1.51.0 and aws-sam-translator), so that is the one run here.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TEMPLATES = ['template.yaml', 'deploy/aws/edge-signer.yaml'];

/**
 * AWS's cfn-lint through Python, by its module: whatever else is called `cfn-lint` on PATH (under
 * npm and tap, node_modules/.bin comes first) cannot stand in for it.
 */
const CFN_LINT = ['-c', 'import sys; from cfnlint.runner import main; sys.argv[0] = "cfn-lint"; sys.exit(main())'];

async function cfnLint(...files: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run('python3', [...CFN_LINT, '--format', 'parseable', '--', ...files], { cwd: ROOT });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failure = error as { code?: number | string; stdout?: string; stderr?: string };
    if (failure.code === 'ENOENT' || /No module named 'cfnlint'/.test(failure.stderr ?? '')) {
      throw new Error('AWS cfn-lint is not installed for python3; on this machine kind it comes with the image (pip cfn-lint)', { cause: error });
    }
    return { code: Number(failure.code), output: `${failure.stdout ?? ''}${failure.stderr ?? ''}` };
  }
}

t.test('template.yaml and the edge template pass cfn-lint with no error, warning or note', async (t) => {
  const { stdout } = await run('python3', [...CFN_LINT, '--version']).catch(() => ({ stdout: 'cfn-lint: not found' }));
  t.comment(stdout.trim());
  const result = await cfnLint(...TEMPLATES);
  t.equal(result.output.trim(), '', 'no findings');
  t.equal(result.code, 0);
});

t.test('the linter really checks: an unknown property, a dangling reference and a rule naming no parameter fail', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'vod-cfn-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const original = await readFile(path.join(ROOT, 'template.yaml'), 'utf8');
  const broken = original
    .replace('PointInTimeRecoverySpecification:', 'PointInTimeRecoverySpecificatio:')
    .replace('Resource: !GetAtt FailedEventsQueue.Arn\n            Condition:', 'Resource: !GetAtt NoSuchQueue.Arn\n            Condition:')
    .replace('- Assert: !Not [!Equals [!Ref JwtAudience', '- Assert: !Not [!Equals [!Ref NoSuchParameter');
  t.equal(broken.match(/NoSuch/g)?.length, 2, 'each break applied');
  t.not(broken, original);
  const file = path.join(dir, 'template.yaml');
  await writeFile(file, broken);
  const result = await cfnLint(file);
  t.not(result.code, 0);
  t.match(result.output, /PointInTimeRecoverySpecificatio/);
  t.match(result.output, /NoSuchQueue/);
  t.match(result.output, /NoSuchParameter/, 'Rules are checked too');
});
