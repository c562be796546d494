/** `npm run token -- <userId>`: prints a bearer token from the local issuer, and nothing else. */
import { join } from 'node:path';
import { loadLocalSettings } from '../settings.ts';
import { issueToken, loadIssuerKeys } from './issuer.ts';

const userId = process.argv[2];
if (!userId) {
  process.stderr.write('usage: npm run token -- <userId> [expiresInSeconds]\n');
  process.exit(2);
}
const expiresInSeconds = process.argv[3] ? Number(process.argv[3]) : 12 * 3600;
const settings = loadLocalSettings(process.env);
const keys = await loadIssuerKeys(join(settings.DATA_DIR, 'issuer'));
process.stdout.write(`${await issueToken(keys, userId, { expiresInSeconds })}\n`);
