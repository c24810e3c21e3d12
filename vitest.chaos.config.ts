import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

// npm run test:chaos: the chaos suite alone (not part of npm test; .ci/run runs both). One file, run alone.
export default defineConfig({ ...base, test: { ...base.test, include: ['test/chaos/**/*.test.ts'], exclude: ['**/node_modules/**'], maxWorkers: 1, fileParallelism: false } });
