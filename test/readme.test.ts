import t from 'tap';
import { readFile } from 'node:fs/promises';
import { ConfigSchema } from '../src/app/config.ts';
import { LocalSettingsSchema } from '../deploy/local/settings.ts';

const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');

t.test('the README documents every setting the app and the local stack read', async (t) => {
  for (const name of [...Object.keys(ConfigSchema.properties), ...Object.keys(LocalSettingsSchema.properties)]) {
    t.match(readme, new RegExp('`' + name + '`'), `${name} is in the README`);
  }
});

t.test('the README gives the two set-up commands', async (t) => {
  t.match(readme, /npm start/);
  t.match(readme, /npm test/);
});
