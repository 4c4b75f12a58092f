// Type-aware linting for the whole project; formatting is Prettier's job (eslint-config-prettier turns style rules off).
import eslint from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

const nodeCommonJsGlobals = { require: 'readonly', module: 'writable', exports: 'writable', __dirname: 'readonly', process: 'readonly' };

export default tseslint.config(
  { ignores: ['dist/**', 'cdk.out/**', 'build-tsc/**', 'node_modules/**', 'coverage/**'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Ports are async interfaces; an implementation that answers from memory has nothing to await.
      '@typescript-eslint/require-await': 'off',
      // `const { dropped, ...kept } = item` is how a field is left out of a copy.
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true, argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // A binding a closure reads before it is assigned (a handler wired before the thing it calls exists) stays `let`.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  {
    // Tests read untyped JSON answers and hand jest mocks around as values: those rules flag the idiom, not a defect.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      // Fetch stubs print the request they were given (a string or a URL).
      '@typescript-eslint/no-base-to-string': 'off',
    },
  },
  {
    // CloudFormation templates are untyped JSON; the assertions index into them freely.
    files: ['test/cdk/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { sourceType: 'commonjs', globals: nodeCommonJsGlobals },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  { files: ['**/*.mjs'], languageOptions: { sourceType: 'module' } },
  prettier,
);
