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

/** The deployable service never depends on the lab (tests may use it to start real servers). */
const noLab = { name: '@chaos-lab/lab', message: 'The coordinator must not import the lab.' };

/**
 * The coordinator's known-bad variants (apps/coordinator/src/variants/) are lab-only: production code —
 * and any test outside that directory — must not reach them, or a mutant could leak into a deployment.
 */
const noVariantsMessage =
  'apps/coordinator/src/variants/ holds lab-only known-bad variants; only dist/variants/main.js may start them.';
const noVariants = { group: ['**/variants/**', '**/variants'], message: noVariantsMessage };
/** `import()` is not covered by no-restricted-imports. */
const noVariantsDynamic = {
  selector: 'ImportExpression > Literal[value=/(^|\\/)variants(\\/|$)/]',
  message: noVariantsMessage,
};

/** The coordinator's import restrictions; a later block's rule setting replaces an earlier one, so each is complete. */
const coordinatorImports = (/** @type {{ lab: boolean, variants: boolean }} */ ban) => ({
  'no-restricted-imports': [
    'error',
    {
      paths: ban.lab ? [noLab] : [],
      patterns: [...noDeepImports.patterns, ...(ban.variants ? [noVariants] : [])],
    },
  ],
  'no-restricted-syntax': ban.variants ? ['error', noVariantsDynamic] : 'off',
});

export default tseslint.config(
  { ignores: ['vitest.config.ts', '**/dist/**', '**/node_modules/**', 'runs/**', 'test-results/**', '**/*.js', '**/*.mjs', '**/*.cjs'] },
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
    // Everything outside variants/, tests included (they may start real servers through the lab): no variants.
    files: ['apps/coordinator/src/**/*.ts'],
    ignores: ['apps/coordinator/src/variants/**'],
    rules: coordinatorImports({ lab: false, variants: true }),
  },
  {
    // Production code: neither the lab nor the variants.
    files: ['apps/coordinator/src/**/*.ts'],
    ignores: ['apps/coordinator/src/variants/**', '**/*.test.ts'],
    rules: coordinatorImports({ lab: true, variants: true }),
  },
  {
    // The variants themselves: still no lab (they run as a service); their tests may use it.
    files: ['apps/coordinator/src/variants/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: coordinatorImports({ lab: true, variants: false }),
  },
);
