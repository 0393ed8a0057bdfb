// The storage module of @seald-io/nedb, which ships types for its index only. appender.ts replaces
// one function on it and checks at load that the function is there.
declare module '@seald-io/nedb/lib/storage.js' {
  const storage: Record<string, unknown>
  export default storage
}
