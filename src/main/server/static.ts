// The built renderer (out/renderer) as files over HTTP. Only files under the root are served,
// whatever the request path says, and the HTML carries a Content-Security-Policy that lets the
// page load only its own scripts and talk only to this server.

import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import type { ServerResponse } from 'node:http'
import { extname, join, resolve, sep } from 'node:path'

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
}

/** The policy of the page: its own scripts and styles, and WebSocket calls to this server. */
export function contentSecurityPolicy(port: number): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    // Vue sets style attributes; Vite may inline small CSS.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    `connect-src 'self' ws://127.0.0.1:${port} ws://localhost:${port}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ')
}

/** The file under `root` that `urlPath` names, or null when it escapes the root. */
export function resolveUnder(root: string, urlPath: string): string | null {
  let decoded: string
  try {
    decoded = decodeURIComponent(urlPath)
  } catch {
    return null
  }
  if (decoded.includes('\0')) return null
  const base = resolve(root)
  const file = resolve(join(base, decoded === '/' ? 'index.html' : decoded))
  return file === base || file.startsWith(base + sep) ? file : null
}

/**
 * Serves one file of the renderer. Returns false (and writes nothing) when there is no such
 * file, so the caller answers 404.
 */
export async function serveFile(
  root: string,
  urlPath: string,
  res: ServerResponse,
  headers: Readonly<Record<string, string>>,
  port: number,
): Promise<boolean> {
  const file = resolveUnder(root, urlPath)
  if (file === null) return false
  const info = await stat(file).catch(() => null)
  if (!info?.isFile()) return false
  const ext = extname(file).toLowerCase()
  const isHtml = ext === '.html'
  res.writeHead(200, {
    ...headers,
    'Content-Type': CONTENT_TYPES[ext] ?? 'application/octet-stream',
    'Content-Length': String(info.size),
    'X-Content-Type-Options': 'nosniff',
    // The page's URL holds the token: never send it on as a Referer.
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': isHtml ? 'no-store' : 'private, max-age=3600',
    ...(isHtml ? { 'Content-Security-Policy': contentSecurityPolicy(port) } : {}),
  })
  await new Promise<void>((done) => {
    const s = createReadStream(file)
    s.on('error', () => {
      res.destroy()
      done()
    })
    s.on('end', done)
    s.pipe(res)
  })
  return true
}
