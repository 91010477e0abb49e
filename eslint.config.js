import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // api/public/ is the dashboard bundle built from web/ by Vite (npm run build:web): lint its source instead.
  { ignores: ['node_modules/', 'dist/', 'data/', 'test-results/', 'api/public/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  {
    // The web dashboard runs in the browser: browser globals, no Node ones (type-checked by web/tsconfig.json).
    files: ['web/**/*.ts'],
    languageOptions: {
      globals: {
        window: 'readonly', document: 'readonly', navigator: 'readonly', location: 'readonly', history: 'readonly', localStorage: 'readonly',
        fetch: 'readonly', URLSearchParams: 'readonly', ResizeObserver: 'readonly', requestAnimationFrame: 'readonly', cancelAnimationFrame: 'readonly',
        setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', console: 'readonly', Intl: 'readonly',
      },
    },
    rules: {
      'no-restricted-globals': ['error', { name: 'process', message: 'browser code: no Node globals' }, { name: 'Buffer', message: 'browser code: no Node globals' }, { name: 'require', message: 'browser code: ESM imports only' }],
    },
  },
);
