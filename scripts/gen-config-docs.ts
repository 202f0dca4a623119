// Writes docs/configuration.md from the settings table in src/config/settings.ts (one list, never two).
import fs from 'node:fs';
import { settings } from '../src/config/settings.js';

const rows = Object.entries(settings).map(([name, s]) => `| \`${name}\` | ${s.default} | ${s.meaning} |`);
const doc = `# Configuration

Generated from \`src/config/settings.ts\` by \`npm run docs:config\`; edit that file, not this one.
Beacon reads these environment variables once at start; an invalid value stops it with a message naming the variable.

| variable | default | meaning |
|---|---|---|
${rows.join('\n')}
`;
const check = process.argv.includes('--check');
if (check) {
  if (fs.readFileSync('docs/configuration.md', 'utf8') !== doc) {
    console.error('docs/configuration.md is out of date: run npm run docs:config');
    process.exit(1);
  }
} else fs.writeFileSync('docs/configuration.md', doc);
