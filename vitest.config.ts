import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Integration tests start real processes (agents, sshd, NBD clients); two cores share them.
    fileParallelism: true,
    maxWorkers: 2,
    reporters: ['default'],
  },
});
