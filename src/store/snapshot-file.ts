import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { writeWithAtomicRename } from './atomic-file.js';

type Typed = Uint8Array | Int8Array | Uint16Array | Int32Array | Uint32Array | Float32Array;

/**
 * The binary snapshots of the indexes (the text index, the copy of the full vectors) share one
 * frame: 4 magic bytes, the length of a JSON header (uint32, little-endian), the header, then raw
 * typed arrays in the order the format defines.
 */

/**
 * Writes a snapshot atomically: the frame, then whatever `body` puts. `put` writes a typed array's
 * bytes in full (writeSync may write less than asked for large buffers).
 */
export function writeSnapshot(file: string, magic: string, header: object, body: (put: (values: Typed) => void) => void): void {
  writeWithAtomicRename(file, (temporary) => {
    const fd = openSync(temporary, 'w');
    try {
      const put = (values: Typed) => {
        const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
        for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done);
      };
      const headerBytes = Buffer.from(JSON.stringify(header));
      const lead = Buffer.alloc(8);
      lead.write(magic, 0, 'latin1');
      lead.writeUInt32LE(headerBytes.length, 4);
      put(lead);
      put(headerBytes);
      body(put);
    } finally {
      closeSync(fd);
    }
  });
}

/**
 * Reads a snapshot front to back into typed arrays, through a small staging buffer that is then
 * copied into each target.
 *
 * Why not read() straight into the target: on this project's VM, memory filled by the kernel in
 * read() cost ~8-13 µs per 4 KB page the first time JavaScript touched it afterwards (though
 * resident), and memory written from user space did not. For the 1.4 GiB copy of the full vectors
 * at 1M images, re-scoring 100 candidates took 2.3 ms on rows never touched since the load, 0.4 ms
 * after; read through a staging buffer, 0.2 ms on a first touch, for ~1 s more of loading
 * (bench/scale.ts; the test program is in the README's Benchmarks).
 */
export class SnapshotReader {
  private readonly fd: number;
  private position = 0;
  private readonly staging: Uint8Array;

  constructor(file: string, stagingBytes = 1 << 22) {
    this.fd = openSync(file, 'r');
    this.staging = new Uint8Array(stagingBytes);
  }

  /** The frame's JSON header, or undefined when the file does not start with `magic`. */
  header<T>(magic: string): T | undefined {
    const lead = Buffer.from(this.read(new Uint8Array(8)));
    if (lead.toString('latin1', 0, 4) !== magic) return undefined;
    return JSON.parse(Buffer.from(this.read(new Uint8Array(lead.readUInt32LE(4)))).toString('utf8')) as T;
  }

  /** Fills `target` with the next bytes of the file; throws when the file ends first. */
  read<T extends Typed>(target: T): T {
    const bytes = new Uint8Array(target.buffer, target.byteOffset, target.byteLength);
    for (let done = 0; done < bytes.length; ) {
      const n = readSync(this.fd, this.staging, 0, Math.min(this.staging.length, bytes.length - done), this.position);
      if (n === 0) throw new Error('truncated');
      bytes.set(this.staging.subarray(0, n), done);
      done += n;
      this.position += n;
    }
    return target;
  }

  /** Whether the file has no bytes after those read. */
  atEnd(): boolean {
    return readSync(this.fd, this.staging, 0, 1, this.position) === 0;
  }

  close(): void {
    closeSync(this.fd);
  }
}
