/**
 * The name of every module-scope cache (as `cacheStats` reports it), in a module that creates
 * no cache: code outside the functions (the benchmark's cache factories, tests) can name a
 * cache without loading the module that creates it.
 */
export const cacheNames = {
  publicApps: "publicApps",
  ownApps: "ownApps",
  testerRecords: "testerRecords",
  testerApps: "testerApps",
  enabledApps: "enabledApps",
  installCounts: "installCounts",
  mentorFrequency: "mentorFrequency",
  credits: "credits",
} as const;
