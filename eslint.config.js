// Lint rules: typescript-eslint's type-aware recommended set, plus the layer rule from DESIGN.md
// (pure layers may not import I/O, connectors, stores or read the clock).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const pureLayers = [
  'src/model/**',
  'src/policy/**',
  'src/engine/**',
  'src/plan/**',
  'src/lifecycle/**',
  'src/governance/**',
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '**/.tenure/**', 'bench/out/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js', 'bin/*.js', 'bench/*.js'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
    },
  },
  {
    files: pureLayers,
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*', 'fs', 'path', 'os', 'child_process'], message: 'Pure layers do no I/O: pass data in.' },
            {
              group: [
                '**/sources/**',
                '**/connectors/**',
                '**/store/**',
                '**/executor/**',
                '**/audit/**',
                '**/cli/**',
                '**/server/**',
              ],
              message: 'Arrows never point upward (DESIGN.md layer rule).',
            },
          ],
        },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: "NewExpression[callee.name='Date'][arguments.length=0]",
          message: 'Time is a parameter in pure layers.',
        },
        {
          selector: "CallExpression[callee.object.name='Date'][callee.property.name='now']",
          message: 'Time is a parameter in pure layers.',
        },
      ],
    },
  },
  {
    // The service and the command line are equal callers of src/app: neither imports the other's
    // code (the CLI only starts the server), and src/app imports neither.
    files: ['src/server/**', 'src/app/**'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/cli/**'], message: 'The server and src/app never import the command line (DESIGN.md).' },
            { group: ['**/server/**'], message: 'src/app is called by the server, never the other way round.' },
          ],
        },
      ],
    },
  },
  {
    // node:test's describe/it return promises the runner itself awaits.
    files: ['**/*.test.ts', 'test/**/*-contract.ts'],
    rules: { '@typescript-eslint/no-floating-promises': 'off' },
  },
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
