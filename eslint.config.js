// Lint: typescript-eslint's recommended type-aware rules, plus the import rules of ARCHITECTURE.md.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
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

const zones = [];
for (const [target, may] of Object.entries(allowed)) {
  for (const from of folders.filter((f) => !may.includes(f))) {
    zones.push({
      target: `./src/${target}`,
      from: `./src/${from}`,
      ...(target === 'server' && from === 'worker' ? { except: ['./enqueue.ts'] } : {}),
      message: `src/${target} may not import src/${from} (see ARCHITECTURE.md, "Layout")`,
    });
  }
}

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'drizzle/', 'data/', 'coverage/', 'test-results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: globals.node },
    plugins: { 'import-x': importX },
    rules: {
      'import-x/no-restricted-paths': ['error', { zones }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Only src/config reads process.env.' }],
    },
  },
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
