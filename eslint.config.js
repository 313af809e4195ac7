// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Deep imports into another package's internals are banned: packages export from src/index.ts. */
const noDeepImports = {
  patterns: [
    { group: ['@chaos-lab/*/src/*', '@chaos-lab/*/dist/*'], message: 'Import the package entry point, not its internals.' },
    { group: ['../../packages/*', '../../apps/*', '../../scenarios/*', '../../../packages/*'], message: 'Import workspace packages by name.' },
  ],
};

export default tseslint.config(
  { ignores: ['vitest.config.ts', '**/dist/**', '**/node_modules/**', 'runs/**', 'test-results/**', '**/*.js', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': ['error', noDeepImports],
    },
  },
  {
    // The deployable service never depends on the lab (tests may use it to start real servers).
    files: ['apps/coordinator/src/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { ...noDeepImports, paths: [{ name: '@chaos-lab/lab', message: 'The coordinator must not import the lab.' }] },
      ],
    },
  },
);
