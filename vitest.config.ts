import vue from '@vitejs/plugin-vue'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  // Component tests in test/renderer mount single-file components.
  plugins: [vue()],
  test: {
    environment: 'node',
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/build.ts'],
    // Tests that start real node processes are killed cleanly only in a forked worker.
    pool: 'forks',
    // Most files wait on node processes, timers and sockets rather than on the CPU, so two
    // workers keep a two-core machine busy without starving the nodes' elections.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
})
