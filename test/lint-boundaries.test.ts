// The layout's import rules are enforced by lint; this proves the rule still matches real violations.
import path from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..');
const eslint = new ESLint({ cwd: root });

async function restricted(file: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(source, { filePath: path.join(root, file) });
  return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('import rules of ARCHITECTURE.md', () => {
  it.each([
    ['src/storage/x.ts', "import '../server/app.js';"],
    ['src/storage/x.ts', "import '../tracking/urls.js';"],
    ['src/tracking/x.ts', "import '../mail/render.js';"],
    ['src/mail/x.ts', "import '../storage/db.js';"],
    ['src/worker/tasks/x.ts', "import '../../server/app.js';"],
    ['src/server/api/x.ts', "import '../../worker/worker.js';"],
    ['src/server/x.ts', "import '../main/start.js';"],
    ['src/config/x.ts', "import '../log/index.js';"],
    ['src/errors/x.ts', "import '../config/index.js';"],
  ])('%s may not `%s`', async (file, source) => {
    expect(await restricted(file, source)).toHaveLength(1);
  });

  it.each([
    ['src/server/x.ts', "import '../worker/enqueue.js';"],
    ['src/server/api/x.ts', "import '../../storage/db.js';"],
    ['src/worker/tasks/x.ts', "import '../../mail/render.js';"],
    ['src/mail/x.ts', "import '../tracking/urls.js';"],
    ['src/main/x.ts', "import '../server/app.js';"],
  ])('%s may `%s`', async (file, source) => {
    expect(await restricted(file, source)).toEqual([]);
  });
});
