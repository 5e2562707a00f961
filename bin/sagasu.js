#!/usr/bin/env node
// The CLI is compiled TypeScript: `npm ci` (via the prepare script) or `npm run build` creates dist/.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('sagasu: not built yet; run `npm run build` (npm ci does it) in the sagasu folder\n');
  process.exit(1);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv);
