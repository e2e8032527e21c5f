// Lint: typescript-eslint recommended, Prettier for layout, and the rule that keeps vendor SDKs out of the core.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

const VENDOR_SDKS = [
  'jsforce',
  'jsforce/*',
  '@hubspot/api-client',
  '@hubspot/api-client/*',
  '@sendgrid/client',
  '@sendgrid/*',
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'data/**', '*.js', '*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: VENDOR_SDKS,
              message:
                'The core never imports a vendor SDK; only connectors/<vendor>/<vendor>.client.ts does.',
            },
          ],
        },
      ],
    },
  },
);
