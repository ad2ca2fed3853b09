// `pnpm lint`: ESLint 9 with typescript-eslint's type-aware recommended rules over src, tests,
// scripts and bench. Only rules that find real problems; no formatting rules (no Prettier here).
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** Unused variables, imports and parameters are errors; a name starting with `_` says "unused on purpose". */
const noUnusedVars = ['error', {
  argsIgnorePattern: '^_',
  varsIgnorePattern: '^_',
  caughtErrorsIgnorePattern: '^_',
  destructuredArrayIgnorePattern: '^_',
  // `const { secret: _secret, ...rest } = body` drops a field on purpose.
  ignoreRestSiblings: true,
}];

export default defineConfig(
  { ignores: ['**/node_modules/', '**/dist/', 'packages/db/generated/', 'coverage/'] },
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      // One program for every TypeScript file, @tsp/core and @tsp/db mapped to their sources (as
      // `pnpm typecheck` and jest do); every linted .ts file must be in tsconfig.test.json.
      parserOptions: { project: './tsconfig.test.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': noUnusedVars,
      // The few deliberate `any`s carry an eslint-disable comment saying why.
      '@typescript-eslint/no-explicit-any': 'error',
      // JSON.parse, fetch and supertest bodies, express's req.body and require() are `any` by their
      // libraries' types; the code checks such values at run time (zod, typeof) and the tests
      // assert on them. These rules would flag each read (≈270 here) without finding a bug.
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // An async function without an await is how this code returns a promise where an interface
      // wants one (a service's status(), stand-ins in tests); requiring an await changes nothing.
      '@typescript-eslint/require-await': 'off',
      // Passing on a rejection as it came (an AbortSignal's reason, a wrapped promise's error) is
      // deliberate; a literal that is not an Error is still refused.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingAny: true, allowThrowingUnknown: true }],
    },
  },
  {
    // scripts/, bench/, test/support/*.js, packages/db/scripts/, the jest configs: CommonJS for Node.
    files: ['**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { ...globals.node } },
    rules: { 'no-unused-vars': noUnusedVars },
  },
  {
    files: ['**/*.mjs'],
    languageOptions: { sourceType: 'module', globals: { ...globals.node } },
  },
  {
    // The admin console's own files: ES modules run by the operator's browser, not by Node.
    files: ['services/ingest/console/**/*.js'],
    languageOptions: { sourceType: 'module', globals: { ...globals.browser } },
    rules: { 'no-unused-vars': noUnusedVars },
  },
);
