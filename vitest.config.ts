import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // The Temporal native bridge crashes under worker threads (sdk-typescript#876).
    pool: 'forks',
    include: ['test/**/*.test.ts'],
    // The chaos suite has its own command (npm run test:chaos, vitest.chaos.config.ts).
    exclude: ['test/chaos/**', '**/node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 240_000,
    // Two cores: real servers per file; keep concurrency modest.
    maxWorkers: 2,
    fileParallelism: true,
    globalSetup: ['test/fixtures/global-setup.ts'],
  },
});
