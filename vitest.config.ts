import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    coverage: {
      provider: 'v8',
      include: ['functions/**/*.ts', 'lib/**/*.ts'],
      thresholds: {
        'functions/domain/**': { lines: 95, branches: 90 },
        'functions/formats/**': { lines: 90, branches: 80 },
      },
    },
  },
});
