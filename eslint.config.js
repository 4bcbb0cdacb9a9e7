// ESLint flat config: type-aware typescript-eslint over every TypeScript folder, eslint's recommended set for the rest.
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  globalIgnores(['node_modules/', 'var/', 'dist/', 'models/', 'configs/', 'docs/', 'training/lab/**/*.py', '**/*.tmp.ts']),
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    linterOptions: {
      reportUnusedDisableDirectives: 'error',
    },
    rules: {
      // The bugs this config exists to catch: promises nobody awaits, async callbacks where a sync one is expected,
      // awaits of non-promises, switches over unions that miss a member, throws of non-errors.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        // A `default:` is a deliberate catch-all (e.g. "any other code"); only switches without one must be exhaustive.
        { considerDefaultExhaustiveForUnions: true, requireDefaultForNonUnion: false },
      ],
      '@typescript-eslint/only-throw-error': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unnecessary-type-assertion': 'error',
      // Node's type stripping (and verbatimModuleSyntax) need type-only imports marked as such.
      '@typescript-eslint/consistent-type-imports': ['error', { prefer: 'type-imports', fixStyle: 'separate-type-imports' }],
      '@typescript-eslint/no-import-type-side-effects': 'error',
      // `_`-prefixed names are the code base's marker for a parameter an interface requires but this implementation ignores.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
      // Off: `async` without `await` is deliberate here: it implements a Promise-returning contract (Source.open,
      // Sink.deliver, ...) and turns a synchronous throw into a rejection, which is what callers handle.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // Off for the OpenCV.js users: the binding is typed `any` on purpose (calibration/opencv.ts says why), so
    // every use would be flagged; the calibration code checks shapes at run time instead.
    files: ['calibration/**/*.ts', 'sim/scenes/charuco-views.ts', 'test/fakes/render-charuco-views.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // Off in tests: they read JSON.parse'd CLI output and protocol payloads (`any`) and check them with expect(),
    // which is the type check; casting each field first would only repeat the assertion.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // Plain JavaScript (this file, bin/, tool configs): no TypeScript program behind it, so the type-aware rules cannot run.
    files: ['**/*.js', '**/*.cjs', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly', __dirname: 'readonly' } },
  },
);
