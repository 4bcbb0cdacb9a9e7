import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // onnxruntime and better-sqlite3 are native addons: forks isolate them more simply than worker threads.
    pool: 'forks',
  },
});
