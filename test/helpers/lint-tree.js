/**
 * Lints the tree as `eslint .` does, then each planted text read as JSON from stdin
 * (`[{ code, filePath }]`) with the same ESLint, so the type-aware rules build the project's
 * TypeScript program once for both. Prints `{ files, errors, report, plants }` as JSON, where
 * `plants` holds, for each planted text, the rule ids it broke and on which line. Run by test/lint-and-format.test.ts.
 *
 * JavaScript, run by plain node: tsx's loader hooks would see each of ESLint's many modules load,
 * a cost the command line `eslint .` does not pay.
 */
import { text } from 'node:stream/consumers';
import { ESLint } from 'eslint';

/** @type {Array<{ code: string; filePath: string }>} */
const plants = JSON.parse(await text(process.stdin));
const eslint = new ESLint({ cwd: process.cwd() });
const results = await eslint.lintFiles(['.']);
const failing = ESLint.getErrorResults(results);
const planted = [];
for (const { code, filePath } of plants) {
  const [result] = await eslint.lintText(code, { filePath });
  planted.push(result.messages.map((message) => ({ rule: message.ruleId ?? message.message, line: message.line })));
}
process.stdout.write(
  JSON.stringify({
    files: results.length,
    errors: failing.reduce((sum, result) => sum + result.errorCount, 0),
    report: await (await eslint.loadFormatter('stylish')).format(failing),
    plants: planted,
  }),
);
