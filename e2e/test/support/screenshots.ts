import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";

/** e2e/screenshots/ (git-ignored): for people to look at, not compared by the tests. */
export const screenshotDir = fileURLToPath(new URL("../../screenshots/", import.meta.url));

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(screenshotDir, { recursive: true });
  await page.screenshot({ path: `${screenshotDir}${name}.png`, fullPage: true });
}
