/**
 * The subset of EventBridge pattern matching the platform's rules use: each key of the pattern must be in
 * the event; an array lists the accepted values, an object matches the nested field the same way.
 */
export function matchesPattern(
  pattern: Readonly<Record<string, unknown>>,
  event: Readonly<Record<string, unknown>>,
): boolean {
  return Object.entries(pattern).every(([key, expected]) => {
    const actual = event[key];
    if (Array.isArray(expected)) return expected.some((value) => value === actual);
    if (typeof expected === 'object' && expected !== null) {
      return (
        typeof actual === 'object' &&
        actual !== null &&
        matchesPattern(expected as Record<string, unknown>, actual as Record<string, unknown>)
      );
    }
    throw new Error(`Unsupported event pattern value for ${key}`);
  });
}
