import { execFileSync } from "node:child_process";
import { resolve } from "node:path";

/** Tests that run the daemon as users do (`dist/src/cli.js`) need a fresh build of the current sources. */
export default function setup(): void {
  execFileSync("npm", ["run", "build"], { cwd: resolve(import.meta.dirname, ".."), stdio: "ignore" });
}
