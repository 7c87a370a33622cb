/** Child process for the kill tests: runs a refresh, announces the phase named in argv[3] and waits there. */
import { openContext } from '../../src/context.js';
import { refreshStaging } from '../../src/migrate/staging-refresh.js';

const ctx = openContext({ cwd: process.argv[2] });
const at = process.argv[3] ?? 'masking';
await refreshStaging(ctx, {
  yes: true,
  hold: async (phase) => {
    if (phase !== at) return;
    process.stdout.write(`HOLD ${phase}\n`);
    await new Promise((r) => setTimeout(r, 60_000));
  },
});
