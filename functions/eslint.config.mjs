// Lint runs before every deploy (firebase.json predeploy) and in `npm test`.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

// Every param and secret is declared in src/config.ts: `npm run deploy:check` checks the deploy
// manifest against config.ts's exports, so no other file may define one.
const paramsImports = [
  { name: "firebase-functions/params", message: "Declare params and secrets in src/config.ts and import them from there." },
  ...["firebase-functions", "firebase-functions/v1", "firebase-functions/v2"].map((name) => ({
    name,
    importNames: ["params"],
    message: "Declare params and secrets in src/config.ts and import them from there.",
  })),
];
const processImports = ["process", "node:process"].map((name) => ({
  name,
  message: "Use the global process; its env is read only in the files eslint.config.mjs allows.",
}));
// src is built in floors, each importing only the ones below it: common/, redis/, the cache
// engine (cache/), the operators' telemetry (telemetry/), this module scope's runtime (instance/),
// then the features, the modules built on them and index.ts. An import upwards is how an import
// circle, or an engine that knows what watches it, begins: lint refuses it in the lower floors.
const featureImports = ["../apps/*", "../credits/*", "../notifications/*", "../stripe/*", "../users/*", "../firestore", "../errors", "../index"];
const floors = [
  { files: ["src/common/**"], above: ["../redis/*", "../cache/*", "../telemetry/*", "../instance/*", ...featureImports] },
  { files: ["src/redis/**"], above: ["../cache/*", "../telemetry/*", "../instance/*", ...featureImports] },
  // The classifier serves the telemetry: the engine has no use for it.
  { files: ["src/cache/**"], above: ["../telemetry/*", "../instance/*", "../redis/command-purposes", ...featureImports] },
  { files: ["src/telemetry/**"], above: ["../instance/*", ...featureImports] },
];
const processEnvMessage =
  "Read a param or secret from src/config.ts (param.value()) instead: process.env is read only in the files eslint.config.mjs allows.";

export default tseslint.config(
  { ignores: ["lib/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
      "no-console": "error",
      "no-restricted-imports": ["error", { paths: [...paramsImports, ...processImports] }],
      "no-restricted-properties": [
        "error",
        { object: "process", property: "env", message: processEnvMessage },
        { object: "globalThis", property: "process", message: processEnvMessage },
      ],
    },
  },
  // A later block's rule replaces an earlier one's: each floor repeats the paths refused everywhere.
  ...floors.map(({ files, above }) => ({
    files,
    rules: {
      "no-restricted-imports": [
        "error",
        {
          paths: [...paramsImports, ...processImports],
          patterns: [{ group: above, message: "A lower floor imports only the floors below it (eslint.config.mjs, floors)." }],
        },
      ],
    },
  })),
  {
    // The one file that declares params and secrets (defineString/defineInt/defineSecret...).
    files: ["src/config.ts"],
    rules: { "no-restricted-imports": ["error", { paths: processImports }] },
  },
  {
    // process.env allow-list: each file reads only what its comment says.
    files: [
      // booleanParam reads a declared param by its name (process.env[param.name]) while index.ts
      // defines the callables; appCheckEnforced reads FUNCTIONS_EMULATOR (set by the emulator).
      "src/config.ts",
      // FIREBASE_DEBUG_MODE and FIREBASE_DEBUG_FEATURES: set only by the Functions emulator.
      "src/auth.ts",
      // FUNCTION_TARGET and K_SERVICE: the function an instance serves, set by Cloud Run functions.
      "src/telemetry/fleet-stats.ts",
    ],
    rules: { "no-restricted-properties": "off" },
  },
);
