/**
 * The operator dashboard's build: hosting/src/dashboard.ts and what it imports (the Firebase
 * JS SDK from node_modules) bundled by esbuild into hosting/public/dashboard.js, the one file
 * of the served directory that is built (git-ignored). `npm start` runs it before the
 * emulators start; `firebase deploy` through the hosting predeploy (`npm run build:dashboard`).
 */
import path from "node:path";
import { build, stop } from "esbuild";

const hostingDir = __dirname;
const dashboardBundle = path.join(hostingDir, "public", "dashboard.js");

export async function buildDashboard(): Promise<void> {
  try {
    await build({
      entryPoints: [path.join(hostingDir, "src", "dashboard.ts")],
      outfile: dashboardBundle,
      bundle: true,
      format: "esm",
      platform: "browser",
      target: "es2022",
      minify: true,
      sourcemap: true,
      logLevel: "warning",
    });
  } finally {
    // esbuild's service process would otherwise live on as a child of the launcher.
    await stop();
  }
}

if (require.main === module) {
  buildDashboard().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
