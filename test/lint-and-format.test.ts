import t from 'tap';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';
import { runTool } from './helpers/tools.ts';

// `npm test` is tap: the tree is linted, type-checked and its formatting checked here, beside the
// other test files (tap's job pool overlaps these single-threaded checks with tests that wait on
// servers), and each is shown to fail on a planted violation, with the repository's own
// configuration, without writing a file. tsx runs the tests without checking types, so this is
// where they are checked: the linter's type-aware rules build the programs `npm run typecheck`
// names, and test/helpers/lint-tree.js asks those same programs for tsc's errors.
const root = fileURLToPath(new URL('../', import.meta.url));

/** A floating promise, and src/ importing a stand-in, in a file of src/ the project knows (the type-aware rules need one). */
const floating = {
  code: [
    "import { startLocalS3 } from '../../deploy/local/s3/s3-server.ts';",
    'async function work(): Promise<void> {}',
    'work();',
    'export const started = startLocalS3;',
    '',
  ].join('\n'),
  filePath: `${root}src/app/runtime.ts`,
  types: true,
};

// Each boundary of the folders' READMEs, planted once: the text is linted as if it were the named
// file (a real file of that folder, so the config and the import resolver apply as they do to it).
// Imports name real files: an import that does not resolve is left to tsc.
const zones: Array<[zone: string, file: string, violating: string[], allowed: string[]]> = [
  [
    'src/shared: nothing outside itself, no package, no node:',
    'src/shared/stream-files.ts',
    ['../domain/ladder.ts', 'node:path', '@sinclair/typebox'],
    ['./video-status.ts'],
  ],
  [
    'src/schemas: schemas, shared and TypeBox',
    'src/schemas/video.ts',
    ['../domain/errors.ts', 'fastify'],
    ['./problem.ts', '../shared/upload-limits.ts', '@sinclair/typebox'],
  ],
  [
    'src/domain: no adapter, no app, no AWS SDK, no Fastify',
    'src/domain/errors.ts',
    ['../adapters/s3/video-storage.ts', '../app/config.ts', '@aws-sdk/client-s3', 'fastify'],
    ['./ladder.ts', './ports/video-catalog.ts', '../schemas/video.ts', '../shared/redact.ts', 'node:crypto'],
  ],
  [
    'src/adapters: never the app',
    'src/adapters/s3/video-storage.ts',
    ['../../app/config.ts', 'fastify'],
    ['../../domain/storage-layout.ts', '../../shared/load-once.ts'],
  ],
  ['src/adapters: never another adapter', 'src/adapters/s3/video-storage.ts', ['../dynamodb/video-catalog.ts'], []],
  [
    'src/adapters: the ffmpeg worker speaks MediaConvert',
    'src/adapters/ffmpeg-worker/ffmpeg-worker-transcoder.ts',
    [],
    ['../mediaconvert/mediaconvert-updates.ts'],
  ],
  [
    'src/app: no entry point, stand-in or test',
    'src/app/app.ts',
    ['../../events/reconcile.ts', '../../deploy/local/stack.ts', '../../test/helpers/config.ts'],
    ['../../routes/health/index.ts', '../adapters/s3/video-storage.ts'],
  ],
  [
    'routes: no adapter, no other entry point',
    'routes/health/index.ts',
    ['../../src/adapters/s3/video-storage.ts', '../../events/reconcile.ts'],
    ['../../src/schemas/problem.ts', '../../src/app/config.ts'],
  ],
  [
    'the page: its folder, src/domain/ladder.ts and src/shared',
    'routes/web/page/format.ts',
    ['../../../src/domain/video-service.ts', '../index.ts'],
    ['../../../src/domain/ladder.ts', '../../../src/shared/video-status.ts', './api.ts'],
  ],
  [
    'events: no route, stand-in or edge',
    'events/reconcile.ts',
    ['../routes/health/index.ts', '../deploy/local/stack.ts', '../edge/object-key.ts'],
    ['../src/app/runtime.ts', '../src/adapters/mediaconvert/mediaconvert-updates.ts'],
  ],
  [
    'deploy/local: a stand-in imports no other stand-in',
    'deploy/local/s3/s3-server.ts',
    ['../dynamodb/dynamodb-server.ts'],
    ['../key-file.ts', '../../../src/domain/storage-layout.ts', '../../../events/s3-upload.ts'],
  ],
  [
    'edge: its own files and src/shared',
    'edge/object-key.ts',
    ['../src/domain/storage-layout.ts', '@aws-sdk/client-dynamodb'],
    ['../src/shared/cloudfront-signing.ts', './manifest-signer.ts', '@aws-sdk/client-s3', 'node:path'],
  ],
];

/**
 * Type errors, each in a program of its own: a string where a number goes (the root program), a
 * Node API in the page (no Node types there), the DOM in server code (no DOM there), and in a
 * browser test (which has it) a DOM string where a number goes.
 */
const typePlants = [
  { code: 'export const seconds: number = "twelve";\n', filePath: `${root}src/domain/ladder.ts`, types: true },
  { code: 'export const bytes = Buffer.from("page");\n', filePath: `${root}routes/web/page/format.ts`, types: true },
  { code: 'export const title = document.title;\n', filePath: `${root}src/app/runtime.ts`, types: true },
  { code: 'export const title: number = document.title;\n', filePath: `${root}test/e2e/web-page.test.ts`, types: true },
];

const importsOf = (file: string, imports: string[]) => ({
  code: `${imports.map((from, index) => `export * as m${index} from '${from}';`).join('\n')}\n`,
  filePath: `${root}${file}`,
});
const boundaryPlants = zones.flatMap(([, file, violating, allowed]) => [importsOf(file, violating), importsOf(file, allowed)]);

interface TreeCheck {
  files: number;
  errors: number;
  report: string;
  programs: Array<{ config: string; files: number; errors: number; report: string }>;
  plants: Array<Array<{ rule: string; line: number }>>;
}

// One ESLint for the tree and every planted text: the project's TypeScript programs are built once.
const linted = runTool('lint-tree', [], { cwd: root, input: JSON.stringify([floating, ...typePlants, ...boundaryPlants]) }).then(({ code, stdout, output }) => {
  if (code !== 0) throw new Error(`the linter did not run: ${output}`);
  return JSON.parse(stdout) as TreeCheck;
});
const boundaryPlantsFrom = 1 + typePlants.length;

t.test('eslint finds no error in the tree, and rejects a floating promise and an import across a boundary', async (t) => {
  const lint = await linted;
  t.equal(lint.errors, 0, `every file of the tree lints clean (\`npm run lint\`)${lint.report}`);
  t.ok(lint.files > 100, `${lint.files} files linted`);
  const rules = lint.plants[0]!.map((message) => message.rule);
  t.ok(rules.includes('@typescript-eslint/no-floating-promises'), 'the floating promise is reported');
  t.ok(rules.includes('import-x/no-restricted-paths'), 'src/ importing deploy/ is reported', { rules });
});

t.test('every import boundary the READMEs state fails on a planted violation, and its allowed imports pass', async (t) => {
  const BOUNDARY_RULES = new Set(['import-x/no-restricted-paths', 'no-restricted-imports']);
  const { plants } = await linted;
  // Imports reported (one line each), whichever rule caught them: a path or a package.
  const reported = (index: number) => new Set(plants[index]!.filter((message) => BOUNDARY_RULES.has(message.rule)).map((message) => message.line)).size;
  zones.forEach(([zone, , violating, allowed], index) => {
    if (violating.length > 0) t.equal(reported(boundaryPlantsFrom + 2 * index), violating.length, `${zone}: each violation reported`);
    if (allowed.length > 0) t.equal(reported(boundaryPlantsFrom + 1 + 2 * index), 0, `${zone}: allowed imports pass`);
  });
});

t.test('the tree type-checks: every program `npm run typecheck` names, with no error', async (t) => {
  const { programs } = await linted;
  const { scripts } = JSON.parse(await readFile(`${root}package.json`, 'utf8')) as { scripts: Record<string, string> };
  const named = [...scripts.typecheck!.matchAll(/tsc --noEmit -p (\S+)/g)].map((match) => match[1]!);
  t.same(named, ['.', 'routes/web/page', 'test/e2e'], 'npm run typecheck checks the three programs');
  t.same(programs.map((program) => program.config).sort(), [...named].sort(), 'the linter built each of them, and no other');
  for (const program of programs) {
    t.ok(program.files > 0, `${program.config}: ${program.files} root files`);
    t.equal(program.errors, 0, `\`tsc --noEmit -p ${program.config}\` would report no error${program.report ? `\n${program.report}` : ''}`);
  }
});

t.test('a type error is reported in each program, by its own compiler options', async (t) => {
  const { plants } = await linted;
  const typeErrors = (index: number) => plants[index]!.filter((message) => message.rule.startsWith('ts')).map((message) => message.rule);
  t.same(typeErrors(1), ['ts2322'], 'a string is not a number');
  t.same(typeErrors(2), ['ts2591'], 'the page knows no Buffer: it has no Node types');
  t.same(typeErrors(3), ['ts2584'], 'server code knows no document: it has no DOM');
  t.same(typeErrors(4), ['ts2322'], 'a browser test has the DOM: only the string for a number is wrong');
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
