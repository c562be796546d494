import t from 'tap';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import * as prettier from 'prettier';

// `npm test` runs `eslint .` and `prettier --check .` before tap; this proves both would fail on a
// planted violation, with the repository's own configuration, without writing a file.
const root = fileURLToPath(new URL('../', import.meta.url));

t.test('eslint rejects a floating promise and an import across a boundary', async (t) => {
  const eslint = new ESLint({ cwd: root });
  const code = [
    "import { startLocalS3 } from '../deploy/local/s3-server.ts';",
    'async function work(): Promise<void> {}',
    'work();',
    'export const started = startLocalS3;',
    '',
  ].join('\n');
  // A file of src/ the project knows (the type-aware rules need one), linted as this text instead.
  const [result] = await eslint.lintText(code, { filePath: `${root}src/shared/redact.ts` });
  const rules = result!.messages.map((message) => message.ruleId ?? message.message);
  t.ok(rules.includes('@typescript-eslint/no-floating-promises'), 'the floating promise is reported');
  t.ok(rules.includes('no-restricted-imports'), 'src/ importing deploy/ is reported', { rules });
});

t.test('src/shared/ imports nothing outside itself, and the page and the edge signer may import it', async (t) => {
  const eslint = new ESLint({ cwd: root });
  const restricted = async (filePath: string, ...imports: string[]) => {
    const code = imports.map((from, index) => `export * as m${index} from '${from}';`).join('\n');
    const [result] = await eslint.lintText(`${code}\n`, { filePath: `${root}${filePath}` });
    return result!.messages.filter((message) => message.ruleId === 'no-restricted-imports').length;
  };
  t.equal(await restricted('src/shared/stream-files.ts', 'node:path', '@sinclair/typebox', '../video-storage.ts'), 3, 'no node:, no package, no other src/');
  t.equal(await restricted('src/shared/stream-files.ts', './video-status.ts'), 0, 'its own folder');
  t.equal(await restricted('edge/object-key.ts', '../src/shared/cloudfront-signing.ts'), 0, 'edge/');
  t.equal(await restricted('edge/object-key.ts', '../src/video-storage.ts'), 1, 'but nothing else of src/ at the edge');
  t.equal(await restricted('routes/web/page/format.ts', '../../../src/shared/video-status.ts'), 0, 'the page');
});

t.test('prettier rejects a line that is not formatted', async (t) => {
  const filepath = `${root}src/format-plant.ts`;
  const options = { ...(await prettier.resolveConfig(filepath)), filepath };
  t.notOk(await prettier.check('export const a = {b:1}\n', options), 'cramped braces and no spaces fail');
  t.ok(await prettier.check('export const a = { b: 1 };\n', options), 'the same line formatted passes');
});
