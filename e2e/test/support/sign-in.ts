import { copyFileSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { LocalStack } from "@fleetline/local/local-stack";
import type { Page } from "playwright-core";
import { screenshot, screenshotDir } from "./screenshots.js";

/** Committed images the README shows; refreshed only when UPDATE_README_IMAGES=1. */
const readmeImages = fileURLToPath(new URL("../../readme-images/", import.meta.url));

/**
 * Signs in as a person would: opens `path` (a users page), is sent to the local OpenID
 * provider's login page, types the dev operator's e-mail and password, and lands back on
 * `path`. The same code path as Cognito's managed login on AWS.
 */
export async function signIn(page: Page, stack: LocalStack, path = "/users"): Promise<void> {
  await page.goto(`${stack.url}${path}`);
  await page.waitForURL((url) => url.origin === stack.oidc.issuer);
  await page.getByLabel("E-mail").fill(stack.oidc.operator.email);
  await page.getByLabel("Password").fill(stack.oidc.operator.password);
  await screenshot(page, "sign-in");
  if (process.env.UPDATE_README_IMAGES === "1") {
    mkdirSync(readmeImages, { recursive: true });
    copyFileSync(`${screenshotDir}sign-in.png`, `${readmeImages}sign-in.png`);
  }
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(`${stack.url}${path}`);
  await page.getByTestId("signed-in-as").waitFor();
}
