import { closeSync, openSync, readSync } from 'node:fs';

type Typed = Uint8Array | Int8Array | Uint16Array | Int32Array | Uint32Array | Float32Array;

/**
 * Reads a file front to back into typed arrays, through a small staging buffer that is then copied
 * into each target.
 *
 * Why not read() straight into the target: on this project's VM, memory filled by the kernel in
 * read() cost ~8-13 µs per 4 KB page the first time JavaScript touched it afterwards (though
 * resident), and memory written from user space did not. For the 1.4 GiB copy of the full vectors
 * at 1M images, re-scoring 100 candidates took 2.3 ms on rows never touched since the load, 0.4 ms
 * after; read through a staging buffer, 0.2 ms on a first touch, for ~1 s more of loading
 * (bench/scale.ts; the test program is in the README's Benchmarks).
 */
export class FileReader {
  private readonly fd: number;
  private position = 0;
  private readonly staging: Uint8Array;

  constructor(file: string, stagingBytes = 1 << 22) {
    this.fd = openSync(file, 'r');
    this.staging = new Uint8Array(stagingBytes);
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
