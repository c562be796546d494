import t from 'tap';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';
import { runTool } from './helpers/tools.ts';

// `npm test` is tap: the tree is linted and its formatting checked here, beside the other test
// files (tap's job pool overlaps these single-threaded checks with tests that wait on servers),
// and both are shown to fail on a planted violation, with the repository's own configuration,
// without writing a file.
const root = fileURLToPath(new URL('../', import.meta.url));

t.test('eslint finds no error in the tree, and rejects a floating promise and an import across a boundary', async (t) => {
  const planted = [
    "import { startLocalS3 } from '../deploy/local/s3-server.ts';",
    'async function work(): Promise<void> {}',
    'work();',
    'export const started = startLocalS3;',
    '',
  ].join('\n');
  // A file of src/ the project knows (the type-aware rules need one), linted as this text instead,
  // by the ESLint that linted the tree: the project's TypeScript program is built once for both.
  const plants = [{ code: planted, filePath: `${root}src/redact.ts` }];
  const { code, stdout, output } = await runTool('lint-tree', [], { cwd: root, input: JSON.stringify(plants) });
  t.equal(code, 0, `the linter ran${code ? `\n${output}` : ''}`);
  const lint = JSON.parse(stdout) as { files: number; errors: number; report: string; plants: string[][] };
  t.equal(lint.errors, 0, `every file of the tree lints clean (\`npm run lint\`)${lint.report}`);
  t.ok(lint.files > 100, `${lint.files} files linted`);
  const [rules] = lint.plants;
  t.ok(rules!.includes('@typescript-eslint/no-floating-promises'), 'the floating promise is reported');
  t.ok(rules!.includes('no-restricted-imports'), 'src/ importing deploy/ is reported', { rules });
});

t.test('prettier finds every file of the tree formatted (`npm run format:check`)', async (t) => {
  const { code, output } = await runTool('prettier', ['--check', '.', '--log-level', 'warn'], { cwd: root });
  t.equal(code, 0, `prettier --check passes${output ? `\n${output}` : ''}`);
});

t.test('prettier rejects a line that is not formatted', async (t) => {
  const filepath = `${root}src/format-plant.ts`;
  const options = { ...(await prettier.resolveConfig(filepath)), filepath };
  t.notOk(await prettier.check('export const a = {b:1}\n', options), 'cramped braces and no spaces fail');
  t.ok(await prettier.check('export const a = { b: 1 };\n', options), 'the same line formatted passes');
});
