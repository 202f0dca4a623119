// Regenerates migrations from the schema into a scratch copy of drizzle/ and fails if anything new appears.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

// drizzle-kit wants a path relative to the project.
const tmp = 'node_modules/.cache/beacon-db-check';
fs.rmSync(tmp, { recursive: true, force: true });
fs.mkdirSync(tmp, { recursive: true });
fs.cpSync('drizzle', tmp, { recursive: true });
const list = (dir) => fs.readdirSync(dir, { recursive: true }).filter((f) => f.endsWith('.sql')).sort();
const before = list(tmp);
const out = execFileSync(
  'npx',
  ['drizzle-kit', 'generate', '--dialect=postgresql', '--schema=./src/storage/schema.ts', `--out=./${tmp}`],
  { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
);
const after = list(tmp);
fs.rmSync(tmp, { recursive: true, force: true });
if (!out.includes('No schema changes') || JSON.stringify(before) !== JSON.stringify(after)) {
  console.error(out);
  console.error('db:check: the schema has changes with no migration. Run `npm run db:generate` and commit drizzle/.');
  process.exit(1);
}
console.log('db:check: migrations match the schema');
