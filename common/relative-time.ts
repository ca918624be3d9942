/** Times as a person reads them, the same in tenantctl's listings and in the console's pages. */

/** `when` relative to `now`, as a person reads it: `just now`, `42 s ago`, `5 min ago`, `3 h ago`, `2 d ago`. */
export function relativeTime(when: Date | string | null | undefined, now = new Date()): string {
  if (when === null || when === undefined) return '-';
  const at = typeof when === 'string' ? new Date(when) : when;
  if (Number.isNaN(at.getTime())) return '-';
  const seconds = Math.round((now.getTime() - at.getTime()) / 1000);
  // A few seconds ahead is two clocks disagreeing (the browser's and AWS's), not the future.
  if (seconds < -5) return 'in the future';
  if (seconds < 5) return 'just now';
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 48 * 3600) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86_400)} d ago`;
}
