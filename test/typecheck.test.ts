import t from 'tap';
import { fileURLToPath } from 'node:url';
import { runTool } from './helpers/tools.ts';

// tsx runs the tests without checking types; `npm test` type-checks the tree here, as
// `npm run typecheck` does, beside the other test files (tap's job pool overlaps it with tests
// that wait on servers). Three programs: what Node runs (no DOM), the browser page (DOM, no Node
// types) and the browser tests (both).
const root = fileURLToPath(new URL('../', import.meta.url));

for (const project of ['.', 'routes/web/page', 'test/e2e']) {
  t.test(`the tree type-checks (\`tsc --noEmit -p ${project}\`)`, async (t) => {
    const { code, output } = await runTool('tsc', ['--noEmit', '-p', project], { cwd: root });
    t.equal(code, 0, `tsc reports no error${output ? `\n${output}` : ''}`);
  });
}
