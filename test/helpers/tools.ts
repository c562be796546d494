/**
 * Runs a development tool of the repository (tsc, prettier, or ESLint through lint-tree.js) as its
 * command line does, in a child process, for the tests that check the whole tree with it.
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const commands = {
  tsc: [require.resolve('typescript/bin/tsc')],
  prettier: [require.resolve('prettier/bin/prettier.cjs')],
  'lint-tree': [new URL('lint-tree.js', import.meta.url).pathname],
} as const;

/** The tool's exit code, its standard output, and everything it printed. */
export async function runTool(
  tool: keyof typeof commands,
  args: string[],
  options: { cwd: string; input?: string },
): Promise<{ code: number; stdout: string; output: string }> {
  // The tool is not code under test: no coverage of it (tap's loader and V8 coverage stay out).
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  delete env.NODE_V8_COVERAGE;
  return new Promise((resolve, reject) => {
    const child = execFile(process.execPath, [...commands[tool], ...args], { cwd: options.cwd, env, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? error.code : 0;
      if (typeof code !== 'number') return reject(error ?? new Error(`${tool} did not exit`));
      resolve({ code, stdout, output: `${stdout}${stderr}`.trim() });
    });
    child.stdin!.end(options.input ?? '');
  });
}
