import { regionReason } from '../embedding/regions.js';
import type { SourceReason } from '../fusion/fuse.js';
import type { SearchHit } from '../sagasu.js';

const round = (value: number, digits = 4) => Math.round(value * 10 ** digits) / 10 ** digits;

/** A reason as printed: rank, the source's own score, and its details (matched words, distance...). */
function flattenReason(reason: SourceReason): Record<string, unknown> {
  return { rank: reason.rank, score: round(reason.score), contribution: round(reason.contribution, 6), ...reason.detail };
}

/** The `--json` shape of one hit: the stable contract is `path`, `score`, `reasons`; the rest is extra. */
export function hitToJson(hit: SearchHit, confidenceThreshold: number): Record<string, unknown> {
  return {
    path: hit.path,
    score: round(hit.score, 6),
    confidence: hit.confidence,
    confident: hit.confidence >= confidenceThreshold,
    reasons: Object.fromEntries(
      Object.entries(hit.reasons).map(([source, reason]) => [source, source === 'spatial' ? { ...reason } : flattenReason(reason as SourceReason)]),
    ),
    imageId: hit.imageId,
  };
}

function describeReasons(hit: SearchHit): string {
  const parts: string[] = [];
  const { visual, text, hash, spatial } = hit.reasons;
  if (spatial?.verified) parts.push(`${spatial.inliers} matching points${spatial.mirrored ? ' (mirrored)' : ''}`);
  const colour = visual?.detail?.colour;
  if (visual) parts.push(`looks alike #${visual.rank} (similarity ${round((visual.detail?.similarity as number | undefined) ?? visual.score, 3)}${typeof colour === 'number' ? `, colours ${round(colour, 2)}` : ''}${visual.detail?.mirrored ? ', mirrored' : ''}${visual.detail?.contentArea ? ', picture inside the screenshot' : ''}${regionReason(visual.detail)})`);
  if (text) parts.push(`words #${text.rank} (${((text.detail?.matched as string[] | undefined) ?? []).slice(0, 8).join(' ')})${text.detail?.dominant ? ', far ahead of any other image' : ''}`);
  const lines = text?.detail?.lines as Array<{ text: string }> | undefined;
  if (lines?.[0]) parts.push(`in "${lines[0].text.replace(/\s+/g, ' ').slice(0, 60)}"`);
  if (hash) parts.push(hash.detail?.exact ? 'same file bytes' : `near duplicate (hash distance ${String(hash.detail?.distance)})`);
  return parts.join(' · ');
}

export function formatHitsText(query: string, hits: SearchHit[], queryText: string, confidenceThreshold: number): string {
  const lines = [`query: ${query}`];
  if (queryText) lines.push(`  read: ${queryText.replace(/\s+/g, ' ').slice(0, 100)}`);
  if (hits.length === 0) lines.push('  no match');
  else if (hits[0]!.confidence < confidenceThreshold) lines.push(`  no confident match (confidence below ${confidenceThreshold.toFixed(2)}); the closest candidates:`);
  hits.forEach((hit, i) => {
    const where = hit.path ?? hit.sources.map((s) => `${s.guildId}/${s.channelId}/${s.messageId}`)[0] ?? `image ${hit.imageId}`;
    lines.push(`  ${String(i + 1).padStart(2)}. ${where}  confidence ${hit.confidence.toFixed(2)}  (score ${round(hit.score, 4)})`);
    lines.push(`      ${describeReasons(hit)}`);
  });
  return lines.join('\n') + '\n\n';
}
