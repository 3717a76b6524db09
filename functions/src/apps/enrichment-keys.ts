/**
 * The Redis keys of the per-caller app data (enrichment.ts), apart from the module that caches
 * them, so what only needs their names (the Redis command classifier) loads no cache.
 */
export const enabledAppsKey = (uid: string) => `users:${uid}:enabled_apps`;
export const installsKey = (appId: string) => `apps:${appId}:installs`;
