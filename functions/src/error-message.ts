/**
 * The message of anything thrown: an Error's message, anything else as text. Depends on
 * nothing, so scripts/ can import it without loading the functions' packages.
 */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
