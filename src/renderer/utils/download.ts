// The renderer has no filesystem: a file the user exports is handed to the browser as a
// download of an in-memory Blob, which Electron and Chromium both save where the user says.

export function downloadText(filename: string, text: string, type = 'application/json'): void {
  const url = URL.createObjectURL(new Blob([text], { type }))
  const a = document.createElement('a')
  a.href = url
  a.download = filename
  a.rel = 'noopener'
  document.body.append(a)
  a.click()
  a.remove()
  // Revoked after the click has been handled, so the download has the data.
  setTimeout(() => URL.revokeObjectURL(url), 1_000)
}

/** Reads a file the user picked as text (FileReader: works in every renderer). */
export function readFileText(file: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader()
    reader.onload = () => resolve(typeof reader.result === 'string' ? reader.result : '')
    reader.onerror = () => reject(reader.error ?? new Error('the file could not be read'))
    reader.readAsText(file)
  })
}

/** A file name safe on every OS, from a key prefix: "/app/" → "app". */
export function fileSafe(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '')
}
