import { redisServerMissing } from "@fleetline/local/redis-server";

/** False when redis-server is installed; otherwise why not (a skip reason; CI=true throws). */
export function skipWithoutRedisServer(): string | false {
  const why = redisServerMissing();
  if (why && process.env.CI === "true") throw new Error(`${why}; CI=true requires it`);
  return why ? `${why}, to run this test` : false;
}
