import { defineConfig } from 'vitest/config';

// GPU test files run one at a time: each owns one Dawn device (created in beforeAll, destroyed in
// afterAll), and lavapipe already uses both cores, so running files side by side only slows them.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    fileParallelism: false,
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
