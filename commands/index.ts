import type { BotCommand } from '../src/bot/context.js';
import { findSimilar } from './find-similar.js';
import { sagasu } from './sagasu.js';
import { search } from './search.js';

/** Every command the bot registers and answers, checked by the compiler. */
export const commands: readonly BotCommand[] = [search, findSimilar, sagasu];
