// Counts in sentences the screens show. English takes the singular for exactly one and the
// plural for everything else, zero included ("0 keys", "1 key", "2 keys"), so every count the
// GUI prints goes through one function instead of a `=== 1` test at each place.

/** `count` and its noun: plural(1, 'key') is "1 key"; irregular plurals pass their own form. */
export function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : pluralForm}`
}
