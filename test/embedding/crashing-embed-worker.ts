/**
 * Test double for the pool: the real embed worker, except that a job whose first pixel is
 * pure magenta (255, 0, 255) kills the thread.
 */
import { parentPort } from 'node:worker_threads';

// Registered before the real worker's listener, so it sees each job first.
parentPort!.on('message', (message: { type: string; pixels?: Uint8Array }) => {
  const p = message.pixels;
  if (message.type === 'embed' && p !== undefined && p[0] === 255 && p[1] === 0 && p[2] === 255) process.exit(3);
});
await import('../../src/embedding/embed-worker.js');
