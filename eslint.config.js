// Lint: typescript-eslint's recommended type-aware rules, plus the import rules of ARCHITECTURE.md.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

const folders = ['main', 'config', 'log', 'errors', 'storage', 'tracking', 'mail', 'worker', 'server'];

/** Who may import whom (ARCHITECTURE.md, "Layout"). `worker/enqueue` is the one worker file server may use. */
const allowed = {
  main: folders,
  server: ['server', 'tracking', 'storage', 'errors', 'log'],
  worker: ['worker', 'mail', 'tracking', 'storage', 'errors', 'log'],
  mail: ['mail', 'tracking', 'errors', 'log'],
  tracking: ['tracking', 'storage', 'errors', 'log'],
  storage: ['storage', 'errors', 'log'],
  config: ['config'],
  log: ['log'],
  errors: ['errors'],
};

/**
 * One `no-restricted-imports` block per folder. Imports are matched as written (`../server/app.js`), so the
 * rule needs no resolver and cannot silently stop matching.
 */
const boundaryConfigs = Object.entries(allowed).map(([target, may]) => {
  const forbidden = folders.filter((f) => !may.includes(f) && !(target === 'server' && f === 'worker'));
  const patterns = [
    {
      regex: `^(\\.\\./)+(${forbidden.join('|')})(/|$)`,
      message: `src/${target} may import only ${may.map((m) => `src/${m}`).join(', ')} (ARCHITECTURE.md, "Layout")`,
    },
  ];
  if (target === 'server') {
    patterns.push({ regex: '^(\\.\\./)+worker/(?!enqueue\\.js$)', message: 'src/server may import only worker/enqueue from src/worker' });
  }
  return { files: [`src/${target}/**/*.ts`], rules: { 'no-restricted-imports': ['error', { patterns }] } };
});

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'drizzle/', 'data/', 'coverage/', 'test-results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: globals.node },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Only src/config reads process.env.' }],
    },
  },
  ...boundaryConfigs,
  {
    files: ['src/config/**', 'test/**', 'bench/**', 'scripts/**', '*.config.ts', '*.config.js'],
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/main/**'],
    rules: {
      // No singletons outside main/: module-level `let` state is how they creep in.
      'no-restricted-syntax': ['error', { selector: 'Program > VariableDeclaration[kind="let"]', message: 'No module-level mutable state outside src/main (pass dependencies in).' }],
    },
  },
);
