import t from 'tap';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { runTool } from './helpers/tools.ts';

// tsx runs the tests without checking types; `npm test` type-checks the tree here, beside the
// other test files (tap's job pool overlaps it with tests that wait on servers), program by
// program as `npm run typecheck` lists them: what Node runs (no DOM), the browser page (DOM, no
// Node types) and the browser tests (both). The list has one home, that script.
const root = fileURLToPath(new URL('../', import.meta.url));
const { scripts } = JSON.parse(await readFile(`${root}package.json`, 'utf8')) as { scripts: Record<string, string> };
const projects = [...scripts.typecheck!.matchAll(/tsc --noEmit -p (\S+)/g)].map((match) => match[1]!);

t.same(projects, ['.', 'routes/web/page', 'test/e2e'], 'npm run typecheck checks the three programs');
for (const project of projects) {
  t.test(`the tree type-checks (\`tsc --noEmit -p ${project}\`)`, async (t) => {
    const { code, output } = await runTool('tsc', ['--noEmit', '-p', project], { cwd: root });
    t.equal(code, 0, `tsc reports no error${output ? `\n${output}` : ''}`);
  });
}
