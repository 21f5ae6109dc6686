import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Integration tests share one local pipeline (emulators + handlers) that their globalSetup starts once;
    // only they pay for it. e2e runs the CLI as a user would. Standalone projects: `extends` would
    // concatenate the root include into theirs.
    projects: [
      {
        extends: true,
        test: { name: 'unit', exclude: ['test/integration/**', 'test/e2e/**', '**/node_modules/**'] },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/integration/global-setup.ts'],
          pool: 'forks',
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      { test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'], pool: 'forks', testTimeout: 120_000 } },
    ],
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
