/** Option parsers shared by the CLI's commands: each returns the parsed value or throws commander's usage error. */
import { InvalidArgumentError } from 'commander';
import type { SourceName } from '../fusion/fuse.js';

export function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new InvalidArgumentError('must be a whole number from 1 to 1000.');
  return n;
}

export function sourceList(value: string): SourceName[] {
  const names = value.split(',').map((s) => s.trim());
  for (const name of names) {
    if (!['visual', 'text', 'hash'].includes(name)) throw new InvalidArgumentError(`unknown source "${name}" (visual, text, hash).`);
  }
  return names as SourceName[];
}

export function weightList(value: string): Partial<Record<SourceName, number>> {
  const weights: Partial<Record<SourceName, number>> = {};
  for (const part of value.split(',')) {
    const [name, number] = part.split('=').map((s) => s.trim());
    const weight = Number(number);
    if (!['visual', 'text', 'hash'].includes(name ?? '') || !(weight >= 0) || !Number.isFinite(weight)) {
      throw new InvalidArgumentError(`expected source=weight pairs like visual=1,text=1,hash=2, got "${part}".`);
    }
    weights[name as SourceName] = weight;
  }
  return weights;
}

export function nonNegativeNumber(value: string): number {
  const n = Number(value);
  if (!(n >= 0) || !Number.isFinite(n)) throw new InvalidArgumentError('must be a number >= 0.');
  return n;
}

export function reductionDimension(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 4096) throw new InvalidArgumentError('must be a whole number from 0 (full vectors) to 4096.');
  return n;
}

/** A JSON object given on the command line (options to measure), e.g. '{"maxSide":1200}'. */
export function jsonObject<T extends object>(value: string): T {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new InvalidArgumentError('must be a JSON object, e.g. \'{"maxSide":1200}\'.');
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new InvalidArgumentError('must be a JSON object.');
  return parsed as T;
}
