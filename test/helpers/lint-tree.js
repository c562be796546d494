/**
 * Lints the tree as `eslint .` does and type-checks it as `npm run typecheck` does, in one pass,
 * then lints each planted text read as JSON from stdin (`[{ code, filePath, types }]`), and
 * type-checks it when `types` is true.
 * Prints `{ files, errors, report, programs, plants }` as JSON: `programs` holds, for each
 * tsconfig whose program the linter built, the errors tsc would print for it; `plants` holds, for
 * each planted text, the rule ids it broke (or `ts<code>` for a type error) and on which line.
 * Run by test/lint-and-format.test.ts.
 *
 * One pass, because the type-aware rules make typescript-eslint build and check the very programs
 * tsc builds (its project service opens each file under its nearest tsconfig): asking those
 * programs for tsc's diagnostics reuses the parsing, binding and most of the checking that linting
 * already paid for, where three `tsc --noEmit` runs would do it all again.
 *
 * JavaScript, run by plain node: tsx's loader hooks would see each of ESLint's many modules load,
 * a cost the command line `eslint .` does not pay.
 */
import path from 'node:path';
import { text } from 'node:stream/consumers';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import ts from 'typescript';

/** @type {Array<{ code: string; filePath: string; types?: boolean }>} */
const plants = JSON.parse(await text(process.stdin));
const cwd = process.cwd();

/** The program typescript-eslint last linted each file with, by file. */
/** @type {Map<string, import('typescript').Program>} */
const programOf = new Map();
const collector = {
  rules: {
    program: {
      meta: { type: 'problem', schema: [] },
      /** @param {import('eslint').Rule.RuleContext} context */
      create(context) {
        const program = context.sourceCode.parserServices?.program;
        if (program) programOf.set(context.filename, program);
        return {};
      },
    },
  },
};
const eslint = new ESLint({
  cwd,
  overrideConfig: [{ files: ['**/*.ts'], plugins: { 'lint-tree': collector }, rules: { 'lint-tree/program': 'error' } }],
});

// A planted text without `types` is linted by the same configuration minus the type-aware rules
// (typescript-eslint's own switch): with them, each text would make the project service rebuild
// and re-check a program, about half a second each, for rules such a text is not planted for.
const untyped = new ESLint({ cwd, overrideConfig: [tseslint.configs.disableTypeChecked] });

/** The tsconfig a program was built from, relative to the tree (`.` for the root one). */
const configOf = (program) => {
  const file = /** @type {string | undefined} */ (program.getCompilerOptions().configFilePath);
  return file ? path.relative(cwd, path.dirname(file)) || '.' : undefined;
};
const host = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => cwd, getNewLine: () => '\n' };

const results = await eslint.lintFiles(['.']);
const failing = ESLint.getErrorResults(results);

// Each tsconfig's newest program (every file linted since it was built is in it, unchanged), asked
// for what `tsc --noEmit -p` prints: options, syntax, globals and every file's semantics.
/** @type {Map<string, import('typescript').Program>} */
const newest = new Map();
for (const program of programOf.values()) {
  const config = configOf(program);
  if (config) newest.set(config, program);
}

/** What `tsc --noEmit -p <config>` parses from that tsconfig: its options and its root files. */
const parse = (config) =>
  ts.getParsedCommandLineOfConfigFile(
    path.join(cwd, config, 'tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
        throw new Error(ts.formatDiagnostic(diagnostic, host));
      },
    },
  );
// tsserver lets each project open any file; that option changes no diagnostic.
const addedByTsserver = new Set(['allowNonTsExtensions']);
/** Whether a program is the one tsc builds for the tsconfig: the same options and root files. */
const builtAsTsc = (program, parsed) => {
  const options = program.getCompilerOptions();
  const keys = new Set([...Object.keys(options), ...Object.keys(parsed.options)]);
  const roots = new Set(program.getRootFileNames());
  return (
    [...keys].every((key) => addedByTsserver.has(key) || JSON.stringify(options[key]) === JSON.stringify(parsed.options[key])) &&
    roots.size === parsed.fileNames.length &&
    parsed.fileNames.every((file) => roots.has(file))
  );
};

// The linter's program for a tsconfig is not always the one tsc builds. A file the project service
// cannot place under its tsconfig's project goes to an inferred project, whose options are the
// root tsconfig's plus typescript-eslint's own noUnusedLocals and noUnusedParameters, and which
// names the root tsconfig too. Once, in CI, the root program reported an unused parameter that tsc
// does not (why that run placed files so is not known; it did not happen again here). So a program
// whose options or root files are not tsc's is replaced by the one tsc builds, its source files
// reused, and its errors are then tsc's.
const programs = [...newest].map(([config, linted]) => {
  const parsed = parse(config);
  let program = linted;
  if (!builtAsTsc(linted, parsed)) {
    process.stderr.write(`lint-tree: the linter's program for ${config} is not tsc's; type-checking with tsc's own\n`);
    program = ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options, projectReferences: parsed.projectReferences, oldProgram: linted });
  }
  const diagnostics = ts.getPreEmitDiagnostics(program).filter((d) => d.category === ts.DiagnosticCategory.Error);
  return { config, files: program.getRootFileNames().length, errors: diagnostics.length, report: ts.formatDiagnostics(diagnostics, host) };
});

const planted = [];
for (const { code, filePath, types } of plants) {
  programOf.delete(filePath);
  const [result] = await (types ? eslint : untyped).lintText(code, { filePath });
  const messages = result.messages.map((message) => ({ rule: message.ruleId ?? message.message, line: message.line }));
  const program = programOf.get(filePath);
  const source = program?.getSourceFile(filePath);
  const typeErrors = source ? [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)] : [];
  for (const diagnostic of typeErrors) {
    messages.push({ rule: `ts${diagnostic.code}`, line: source.getLineAndCharacterOfPosition(diagnostic.start ?? 0).line + 1 });
  }
  planted.push(messages);
}
process.stdout.write(
  JSON.stringify({
    files: results.length,
    errors: failing.reduce((sum, result) => sum + result.errorCount, 0),
    report: await (await eslint.loadFormatter('stylish')).format(failing),
    programs,
    plants: planted,
  }),
);
