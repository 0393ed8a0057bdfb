// Counts in sentences: "1 node", "2 nodes". English needs no more than a singular and a
// plural for the words the GUI counts, so a word with an irregular plural passes its own.

/** `n` and the noun that agrees with it: plural(1, 'node') is "1 node", plural(3, 'node') "3 nodes". */
export function plural(n: number, one: string, many: string = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`
}
