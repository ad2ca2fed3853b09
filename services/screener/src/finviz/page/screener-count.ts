import type { CheerioAPI } from 'cheerio';
import type { PageElement } from './quote-reference';

/** "#1 / 146 Total": the count every Finviz view shows above its results, whatever its markup. */
export interface ScreenerCount {
  /** 146; null when the page does not say. */
  total: number | null;
  /** 1 in "#1 / 146": the rank of the page's first row, for paging with `r=`. */
  firstRow: number | null;
  /** The innermost element holding the count: where the results begin (they follow it). */
  element: PageElement | null;
}

const STRICT = /#\s*([\d,]+)\s*\/\s*([\d,]+)\s+Total\b/i;
/** "146 Total" alone, accepted only as the whole text of a short element (never "Total Debt/Equity"). */
const LOOSE = /^(?:#\s*([\d,]+)\s*\/\s*)?([\d,]+)\s+Total$/i;
/** Text that is never the count: scripts, styles, and the sort and preset menus. */
const NOT_TEXT = new Set(['script', 'style', 'noscript', 'template', 'select', 'option', 'textarea']);

/** How far above the text node holding "Total" the rest of the count may be ("#1 / <b>146</b> Total"). */
const MAX_CLIMB = 4;

/**
 * Finds the count by its text, not its class (Finviz moved it from td.count-text to
 * div#screener-total and may again): the first "#n / m Total" on the page, in the innermost
 * element that holds all of it.
 */
export function readScreenerCount($: CheerioAPI): ScreenerCount {
  let loose: ScreenerCount | null = null;
  for (const node of textNodes($.root().toArray()[0])) {
    if (!/Total/i.test(node.data)) continue;
    let element = node.parent;
    for (let climb = 0; element && 'attribs' in element && climb < MAX_CLIMB; climb += 1, element = element.parent) {
      const text = normalise($(element).text());
      const strict = STRICT.exec(text);
      if (strict) return found(strict, element);
      const short = text.length <= 40 ? LOOSE.exec(text) : null;
      if (short && !loose) loose = found(short, element);
    }
  }
  return loose ?? { total: null, firstRow: null, element: null };
}

type ParentNode = NonNullable<PageElement['parent']>;
type TextNode = Extract<PageElement['children'][number], { data: string }>;

/** Text nodes in document order, outside scripts, styles and menus. */
function* textNodes(node: ParentNode): Generator<TextNode> {
  for (const child of node.children) {
    // nodeType 3: text (comments carry data too, and are not text).
    if (child.nodeType === 3 && 'data' in child) yield child;
    else if ('attribs' in child && !NOT_TEXT.has(child.name)) yield* textNodes(child);
  }
}

function found(match: RegExpExecArray, element: PageElement): ScreenerCount {
  return { firstRow: parseCount(match[1]), total: parseCount(match[2]), element };
}

function parseCount(raw: string | undefined): number | null {
  if (raw === undefined) return null;
  const value = Number(raw.replace(/,/g, ''));
  return Number.isSafeInteger(value) ? value : null;
}

export function normalise(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
