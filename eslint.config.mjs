// Lint for the TypeScript outside functions/ (the local stack, the test and bench harness, the
// specs, the benchmark, the dashboard's source in hosting/; its built bundle is not linted).
// functions/ has its own config (functions/eslint.config.mjs), with the rules only deployed
// code needs (params in config.ts, process.env allow-list, no console).
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["functions/**", "node_modules/**", ".local/**", "bench/results/**", "hosting/public/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
);
