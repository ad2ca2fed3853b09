import type { CheerioAPI } from 'cheerio';
import { parseTicker } from '@tsp/core';
import { UnrecognisedPageError } from '../screener-errors';
import { quoteReference, type PageElement } from './quote-reference';

/*
 * The views without a Ticker column: charts (v=211, a chart image linked to its quote page per
 * result), basic (v=311, a block per result: title link, chart, snapshot table, news), tickers
 * (v=411, up to 1,000 spans a page, each going to its quote page on click) and a custom view
 * whose columns leave Ticker out (each cell of a row still links to the row's quote page).
 *
 * A result is found by what it points at (quote-reference.ts), never by class. Results are told
 * from decoration (a ticker link in the header, an ad) by where they stand: after the count
 * ("#1 / 146 Total"), together in one region of the page, as a repetition of one shape. Every
 * ticker named after the count is put in the region that holds it — the part of the page that
 * branches off beside the count — and in a region only the shapes repeated for the most tickers
 * count (a result's title link and chart, not an ad row among them). The region whose number of
 * tickers fits the count is the results.
 */

/**
 * Every view shows at least 20 results a page (tickers-only: 1,000) unless fewer are left: a
 * region naming fewer tickers than this (or than the count leaves) is decoration — a lone link
 * beside the count, an ad, a chart popup — and a page with only such regions has lost its results.
 */
const MIN_RESULTS_PER_PAGE = 10;

interface Reference {
  element: PageElement;
  ticker: string;
  /** What kind of element names it, and where it stands in its branch: results repeat one shape. */
  shape: string;
}

type Node = PageElement['parent'];

/**
 * The tickers of the results that follow `countElement`, in page order. `remaining` is how many
 * results the count says are left from this page on (total − first row + 1), when it says.
 */
export function readResultList($: CheerioAPI, countElement: PageElement, remaining: number | null): string[] {
  const references = referencesAfter($, countElement);
  const groups = regionsOf(references, countElement).map((region) => tickersIn(repeatedShapes(region)));
  const results = chooseResults(groups, remaining);
  return results.map((raw, index) => {
    // The rule a webhook's ticker is read by, so that Finviz's BRK-B (or BRK.B on old pages) meets it.
    const ticker = parseTicker(raw);
    if (!ticker.ok) throw new UnrecognisedPageError(`result ${index + 1} of the page has no readable ticker: ${ticker.message}`);
    return ticker.ticker;
  });
}

/** Every element after the count (in document order, outside it) that names a ticker. */
function referencesAfter($: CheerioAPI, countElement: PageElement): Reference[] {
  const elements = $('body *').toArray();
  const countAt = elements.indexOf(countElement);
  const references: Reference[] = [];
  for (const element of elements.slice(countAt + 1)) {
    if (isInside(element, countElement)) continue;
    const ticker = quoteReference(element);
    if (ticker) references.push({ element, ticker: ticker.toUpperCase(), shape: '' });
  }
  return references;
}

interface Region {
  /** The branches beside the count it spans: one, or a run of sibling one-result branches. */
  branches: PageElement[];
  references: Reference[];
}

/**
 * Groups the references by the child of their lowest common ancestor with the count that holds
 * them: on Finviz's layout, the row under the count's row that holds the results, or an ad's own
 * box. When the results stand right beside the count (each result a branch of its own), a run of
 * sibling one-ticker branches of one kind is one region.
 */
function regionsOf(references: Reference[], countElement: PageElement): Region[] {
  const countAncestors = new Set<Node>(ancestors(countElement));
  const regions: Region[] = [];
  for (const reference of references) {
    const branch = branchBeside(reference.element, countAncestors);
    reference.shape = shapeOf(reference.element, branch);
    const last = regions.at(-1);
    const lastBranch = last?.branches.at(-1);
    if (last && lastBranch === branch) {
      last.references.push(reference);
    } else if (last && lastBranch && nextElement(lastBranch) === branch && branch.name === lastBranch.name && holdsOneTicker(last, lastBranch)) {
      last.branches.push(branch);
      last.references.push(reference);
    } else {
      regions.push({ branches: [branch], references: [reference] });
    }
  }
  return regions;
}

function holdsOneTicker(region: Region, branch: PageElement): boolean {
  const inBranch = region.references.filter((reference) => reference.element === branch || isInside(reference.element, branch));
  return inBranch.every((reference) => reference.ticker === inBranch[0].ticker);
}

/** The tag path from the branch down to the element, and the attribute that names the ticker. */
function shapeOf(element: PageElement, branch: PageElement): string {
  const path: string[] = [];
  for (let node: PageElement = element; node !== branch && node.parent; node = node.parent as PageElement) path.unshift(node.name);
  const by = ['data-boxover-ticker', 'href', 'onclick', 'src'].find((name) => element.attribs[name] !== undefined) ?? '';
  return `${branch.name}>${path.join('>')}[${by}]`;
}

/** The references whose shape repeats for the most tickers: the results' own links, not an ad among them. */
function repeatedShapes(region: Region): Reference[] {
  const tickersByShape = new Map<string, Set<string>>();
  for (const { shape, ticker } of region.references) tickersByShape.set(shape, (tickersByShape.get(shape) ?? new Set()).add(ticker));
  const most = Math.max(...[...tickersByShape.values()].map((tickers) => tickers.size));
  return region.references.filter((reference) => tickersByShape.get(reference.shape)!.size === most);
}

/** The ancestor of `element` whose parent is also an ancestor of the count. */
function branchBeside(element: PageElement, countAncestors: Set<Node>): PageElement {
  let branch = element;
  while (branch.parent && !countAncestors.has(branch.parent)) branch = branch.parent as PageElement;
  return branch;
}

function ancestors(element: PageElement): Node[] {
  const chain: Node[] = [];
  for (let node: Node = element.parent; node; node = node.parent) chain.push(node);
  return chain;
}

function isInside(element: PageElement, container: PageElement): boolean {
  for (let node: Node = element.parent; node; node = node.parent) if (node === container) return true;
  return false;
}

function nextElement(element: PageElement): PageElement | null {
  for (let node = element.next; node; node = node.next) if ('attribs' in node) return node;
  return null;
}

/** Tickers in order; a result named twice in a row (its chart and its caption) counts once. */
function tickersIn(references: Reference[]): string[] {
  return references.map((reference) => reference.ticker).filter((ticker, i, all) => i === 0 || all[i - 1] !== ticker);
}

/**
 * The region that is the results: one with as many tickers as the count leaves for this page (a
 * last page, a short list), else the largest one that fits; on a tie, the first on the page.
 */
function chooseResults(groups: string[][], remaining: number | null): string[] {
  if (groups.length === 0) return [];
  const least = remaining === null ? 1 : Math.min(MIN_RESULTS_PER_PAGE, remaining);
  const fitting = groups.filter((group) => group.length >= least && (remaining === null || group.length <= remaining));
  const exact = fitting.find((group) => group.length === remaining);
  if (exact) return exact;
  if (fitting.length) return fitting.reduce((best, group) => (best.length >= group.length ? best : group));
  const largest = Math.max(...groups.map((group) => group.length));
  if (remaining !== null && largest > remaining) {
    throw new UnrecognisedPageError(`the page holds ${largest} results but its count leaves only ${remaining}`);
  }
  throw new UnrecognisedPageError(`the page names only ${groups.map((group) => group.join(', ')).join('; ')} after its count, which reports ${remaining} results from here on: decoration, not results`);
}
