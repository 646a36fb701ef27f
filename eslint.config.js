import tseslint from 'typescript-eslint';
import { moduleBoundaries } from './tools/eslint-module-boundaries.js';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'scratch/**', 'coverage/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['src/**/*.ts'],
    plugins: { agentbase: { rules: { 'module-boundaries': moduleBoundaries } } },
    rules: {
      'agentbase/module-boundaries': 'error',
      'no-console': 'error',
    },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
);
