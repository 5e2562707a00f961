import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made: string[] = [];

/**
 * A fresh folder under the system's temporary directory, removed when the test file's process
 * exits. `node --test` runs each test file in its own process, so one exit hook per file cleans up
 * whatever its tests made, passed or failed, including folders made at module level (a hook of
 * node:test would not see those).
 */
export function scratchDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (made.length === 0) {
    process.once('exit', () => {
      for (const folder of made) rmSync(folder, { recursive: true, force: true });
    });
  }
  made.push(dir);
  return dir;
}
