import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';

/**
 * Writes a file so that a reader (or a restart after kill -9) sees either the old content or
 * the new one, never half of it: write a sibling temporary file, fsync it, rename over.
 */
export function writeFileAtomic(file: string, data: string | Buffer): void {
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, data);
    syncFile(temporary);
    renameSync(temporary, file);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}

/** For files written by a library we cannot hand a file descriptor to (hnswlib's writeIndex). */
export function writeWithAtomicRename(file: string, write: (temporary: string) => void): void {
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    write(temporary);
    syncFile(temporary);
    renameSync(temporary, file);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}

function syncFile(file: string): void {
  const fd = openSync(file, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
