/**
 * Every item of every page an SDK paginator (`paginateListTasks` and friends) yields. The
 * paginator follows the tokens; this only gathers, for the ports whose contract is "all pages".
 */
export async function allPages<Page, Item>(pages: AsyncIterable<Page>, items: (page: Page) => readonly Item[] | undefined): Promise<Item[]> {
  const out: Item[] = [];
  for await (const page of pages) out.push(...(items(page) ?? []));
  return out;
}

/** Page sizes: the defaults are AWS's largest; tests pass small ones to prove tokens are followed. */
export interface PageSizes {
  pageSize?: number;
}
