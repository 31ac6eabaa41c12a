import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { type BrowserContext, chromium, type Page } from "playwright-core";

/**
 * Debian's Chromium; playwright-core downloads no browser of its own. CHROMIUM_PATH points
 * elsewhere (another distribution, or a missing path to check the skip).
 */
export const chromiumPath = process.env.CHROMIUM_PATH || "/usr/bin/chromium";

/** Flags that keep Chromium quiet and self-contained: no GPU, no sync, no updates, no first-run UI. */
const chromiumArgs = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

export interface BrowserSession {
  readonly context: BrowserContext;
  readonly page: Page;
}

/**
 * A fresh Chromium profile for one test, closed and deleted when the test ends. Without
 * Chromium the test is skipped with the reason on a laptop, and fails under CI=true, where
 * .ci/run installs it and a skip would hide a broken pipeline.
 */
export async function openBrowser(t: TestContext): Promise<BrowserSession | undefined> {
  if (!existsSync(chromiumPath)) {
    const reason = `browser tests need Chromium at ${chromiumPath} (Debian: apt-get install chromium)`;
    if (process.env.CI === "true") throw new Error(`${reason}; CI=true, so this is a failure`);
    t.skip(`skipped: ${reason}`);
    return undefined;
  }
  const profile = mkdtempSync(join(tmpdir(), "fleetline-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: chromiumArgs,
    viewport: { width: 1100, height: 800 },
  });
  t.after(async () => {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(15_000);
  return { context, page };
}
