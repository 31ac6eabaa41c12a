import type { Page, Response } from "playwright-core";

/** The main-document response a page action caused, and the instance that answered it. */
export interface Navigation {
  readonly status: number;
  readonly servedBy: string;
  readonly response: Response;
}

/**
 * Runs `action` (a click, a submit) and returns the first document response with `method`, then
 * waits for the page to settle. For a form POST that is the 303 itself, not the page it leads to.
 */
export async function navigate(
  page: Page,
  method: "GET" | "POST",
  action: () => Promise<unknown>,
): Promise<Navigation> {
  const [response] = await Promise.all([
    page.waitForResponse(
      (r) => r.request().isNavigationRequest() && r.request().method() === method,
    ),
    action(),
  ]);
  await page.waitForLoadState("load");
  return {
    status: response.status(),
    servedBy: response.headers()["x-served-by"] ?? "",
    response,
  };
}

export async function goto(page: Page, url: string): Promise<Navigation> {
  return navigate(page, "GET", () => page.goto(url));
}
