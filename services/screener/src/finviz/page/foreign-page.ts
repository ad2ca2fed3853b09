import type { CheerioAPI } from 'cheerio';
import type { PageLooksLike } from '../screener-errors';
import { normalise } from './screener-count';

/** What a page that holds no screener results looks like, judged from its text. */
export function classifyForeignPage($: CheerioAPI): PageLooksLike {
  const text = `${$('title').text()} ${$('body').text()}`.slice(0, 5000);
  if (/too many requests/i.test(text)) return 'rate_limited';
  // Cloudflare's interstitials: "Just a moment...", "Attention Required!", challenge scripts.
  if (/just a moment|attention required|verify you are human|cf-chl|challenge-platform/i.test(`${text} ${$.html().slice(0, 20_000)}`)) return 'challenge';
  return 'unknown';
}

/** The page's title (or first words), for an error message. */
export function describePage($: CheerioAPI, looksLike: PageLooksLike): string {
  const title = normalise($('title').text()) || normalise($('body').text()).slice(0, 60) || 'empty page';
  return `${looksLike === 'unknown' ? 'page' : looksLike} "${title}"`;
}
