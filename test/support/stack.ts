// Global test stack: filled in by the cache-core work.
