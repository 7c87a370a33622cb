/** Child process for the kill -9 test: runs a refresh and announces the masking phase, then waits there. */
import { openContext } from '../../src/context.js';
import { refreshStaging } from '../../src/migrate/staging-refresh.js';

const ctx = openContext({ cwd: process.argv[2] });
await refreshStaging(ctx, {
  yes: true,
  duringMasking: async () => {
    process.stdout.write('MASKING\n');
    await new Promise((r) => setTimeout(r, 60_000));
  },
});
