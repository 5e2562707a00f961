import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { downloadImage, formatBytes, isImageAttachment } from '../../src/bot/message-images.js';

describe('isImageAttachment', () => {
  it('takes images by content type or file ending, and refuses SVG', () => {
    assert.equal(isImageAttachment({ contentType: 'image/png', name: 'a.png' }), true);
    assert.equal(isImageAttachment({ contentType: null, name: 'a.JPG' }), true);
    assert.equal(isImageAttachment({ contentType: 'image/svg+xml', name: 'a.svg' }), false);
    assert.equal(isImageAttachment({ contentType: null, name: 'drawing.svg' }), false);
    assert.equal(isImageAttachment({ contentType: 'application/pdf', name: 'a.pdf' }), false);
  });
});

describe('downloadImage', () => {
  const body = Buffer.alloc(4096, 7);
  let base = '';
  const server = createServer((req, res) => {
    if (req.url === '/ok') res.writeHead(200, { 'content-length': body.length }).end(body);
    else if (req.url === '/chunked') {
      res.writeHead(200);
      res.write(body);
      res.end(body);
    } else res.writeHead(404).end('gone');
  });
  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('returns the bytes', async () => {
    assert.deepEqual(await downloadImage(`${base}/ok`, { maxBytes: 10_000, timeoutMs: 5000 }), body);
  });

  it('refuses a file over the limit by its Content-Length, and while streaming without one', async () => {
    await assert.rejects(downloadImage(`${base}/ok`, { maxBytes: 1024, timeoutMs: 5000 }), { code: 'TOO_LARGE', message: 'sagasu: the image is 4 KiB; the limit is 1 KiB' });
    await assert.rejects(downloadImage(`${base}/chunked`, { maxBytes: 5000, timeoutMs: 5000 }), { code: 'TOO_LARGE', message: 'sagasu: the image is larger than the limit of 4.9 KiB' });
  });

  it('calls an expired link NOT_FOUND', async () => {
    await assert.rejects(downloadImage(`${base}/expired`, { maxBytes: 10_000, timeoutMs: 5000 }), {
      code: 'NOT_FOUND',
      message: 'sagasu: the image could not be downloaded (HTTP 404: the link expired or the file is gone)',
    });
  });
});

describe('formatBytes', () => {
  it('uses binary units', () => {
    assert.deepEqual([formatBytes(512), formatBytes(10 * 1024 * 1024), formatBytes(1536)], ['512 bytes', '10 MiB', '1.5 KiB']);
  });
});
