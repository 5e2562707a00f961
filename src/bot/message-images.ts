import { createHash } from 'node:crypto';
import type { Attachment, Embed, Message, PartialMessage } from 'discord.js';
import { SagasuError } from '../errors.js';

/** One image of a message: an attachment, or an embedded image (a link Discord unfurled). */
export interface MessageImage {
  /** The attachment id, or `embed-<hash of the image URL>` for embedded images: stable across edits. */
  attachmentId: string;
  /** A URL valid now (attachment URLs are signed and expire: use it at once, never store it). */
  url: string;
  fileName: string;
  /** Bytes, when Discord says (attachments only). */
  size: number | null;
  contentType: string | null;
}

const imageEnding = /\.(png|jpe?g|jfif|webp|gif|avif|tiff?|bmp)$/i;

/** Whether an attachment is an image sagasu can read. SVG is refused: it is a program, not a picture. */
export function isImageAttachment(attachment: Pick<Attachment, 'contentType' | 'name'>): boolean {
  const type = attachment.contentType?.toLowerCase() ?? '';
  if (type.includes('svg') || /\.svg$/i.test(attachment.name)) return false;
  if (type.startsWith('image/')) return true;
  return !type && imageEnding.test(attachment.name);
}

function embedImage(embed: Embed): { url: string; key: string } | undefined {
  const image = embed.image ?? (embed.data.type === 'image' || embed.data.type === 'gifv' ? embed.thumbnail : null);
  if (!image?.url) return undefined;
  // The proxied copy is Discord's own fetch of the link: safer to download than an arbitrary site.
  const url = image.proxyURL ?? image.url;
  const key = createHash('sha1').update(image.url.split('?')[0]!).digest('hex').slice(0, 16);
  return { url, key };
}

/** The images of a message, attachments first, without duplicates. */
export function imagesOf(message: Message | PartialMessage): MessageImage[] {
  const images: MessageImage[] = [];
  for (const attachment of message.attachments?.values() ?? []) {
    if (!isImageAttachment(attachment)) continue;
    images.push({ attachmentId: attachment.id, url: attachment.url, fileName: attachment.name, size: attachment.size, contentType: attachment.contentType });
  }
  const seen = new Set<string>();
  for (const embed of message.embeds ?? []) {
    const found = embedImage(embed);
    if (!found || seen.has(found.key)) continue;
    seen.add(found.key);
    const name = decodeURIComponent(new URL(found.url).pathname.split('/').pop() || 'image');
    images.push({ attachmentId: `embed-${found.key}`, url: found.url, fileName: name, size: null, contentType: null });
  }
  return images;
}

/**
 * Downloads an image, refusing more than `maxBytes` before reading it all (Content-Length, then
 * while streaming). Expired or missing URLs are NOT_FOUND, so a caller can fetch a fresh one.
 */
export async function downloadImage(url: string, options: { maxBytes: number; timeoutMs: number }): Promise<Buffer> {
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(options.timeoutMs), redirect: 'follow' });
  } catch (error) {
    const timedOut = (error as Error).name === 'TimeoutError';
    throw new SagasuError(timedOut ? 'TIMEOUT' : 'NOT_FOUND', timedOut ? `downloading the image took longer than ${options.timeoutMs} ms` : 'the image could not be downloaded', { cause: error });
  }
  if (!response.ok) {
    await response.body?.cancel().catch(() => undefined);
    throw new SagasuError('NOT_FOUND', `the image could not be downloaded (HTTP ${response.status}${response.status === 404 ? ': the link expired or the file is gone' : ''})`);
  }
  const limit = formatBytes(options.maxBytes);
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > options.maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw new SagasuError('TOO_LARGE', `the image is ${formatBytes(declared)}; the limit is ${limit}`);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  if (!response.body) return Buffer.alloc(0);
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > options.maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new SagasuError('TOO_LARGE', `the image is larger than the limit of ${limit}`);
    }
    chunks.push(Buffer.from(value));
  }
  return Buffer.concat(chunks);
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(bytes % (1024 * 1024) === 0 ? 0 : 1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(bytes % 1024 === 0 ? 0 : 1)} KiB`;
  return `${bytes} bytes`;
}
