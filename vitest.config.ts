import { defineConfig } from 'vitest/config';
import './test/setup/node20-polyfills.js';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['./test/setup/node20-polyfills.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Integration tests start real processes (agents, sshd, NBD clients); two cores share them.
    fileParallelism: true,
    maxWorkers: 2,
    reporters: ['default'],
  },
});
