// The Keys view at 100,000 keys, in Chromium against real nodes: the keys go in through the
// etcd3 client in large transactions (the GUI is not the tool for bulk loading), then the list
// must stay a window of rows however far it is scrolled, and the last keys must show at the end.

import { Etcd3 } from 'etcd3'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import {
  chromiumInstalled,
  launchChromium,
  requireChromium,
  screenshot,
  startWeb,
  type WebHost,
} from './support/harness'

const TOTAL = 100_000
/** etcd's default --max-txn-ops, which RaftLab keeps. */
const PER_TXN = 128
/** Transactions in flight at once: enough to keep the leader batching, few enough for 2 cores. */
const IN_FLIGHT = 8
/** The DOM may hold the viewport's rows and some overscan, never a large part of the list. */
const MAX_ROWS_IN_DOM = 200

const keyAt = (i: number): string => `/bulk/k${String(i).padStart(6, '0')}`
const byTestId = (id: string): string => `[data-testid="${id}"]`

let host: WebHost | undefined
let browser: Browser | undefined
let client: Etcd3 | undefined
let page: Page

async function waitForLeader(h: WebHost): Promise<void> {
  const deadline = Date.now() + 20_000
  while ((await h.api.status()).leader === null) {
    if (Date.now() > deadline) throw new Error(`no leader within 20 s:\n${h.stderr()}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

async function load(c: Etcd3): Promise<void> {
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < TOTAL) {
      const from = next
      next = Math.min(TOTAL, next + PER_TXN)
      const success = []
      for (let i = from; i < next; i++) {
        success.push({
          request_put: { key: Buffer.from(keyAt(i)), value: Buffer.from(`value ${i}`) },
        })
      }
      await c.kv.txn({ success })
    }
  }
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker))
}

/** Rows of keys the list has in the DOM right now. */
async function renderedKeys(): Promise<string[]> {
  return page
    .locator(`${byTestId('key-list')} [data-testid^="key-row-"]`)
    .evaluateAll((els) => els.map((e) => e.getAttribute('data-testid')!.slice('key-row-'.length)))
}

async function scrollListTo(fraction: number): Promise<void> {
  await page.locator(byTestId('key-list')).evaluate((el, f) => {
    el.scrollTop = (el.scrollHeight - el.clientHeight) * f
    el.dispatchEvent(new Event('scroll'))
  }, fraction)
}

beforeAll(async () => {
  // Without Chromium there is nothing to set up: each test then fails, naming what to install.
  if (!chromiumInstalled()) return
  host = await startWeb(['--nodes', '3', '--tick-ms', '50'])
  await waitForLeader(host)
  browser = await launchChromium()
  const endpoints = (await host.api.status()).nodes.map((n) => `http://${n.client}`)
  client = new Etcd3({ hosts: endpoints, dialTimeout: 5_000 })
}, 90_000)

afterAll(async () => {
  client?.close()
  await browser?.close().catch(() => {})
  await host?.stop()
}, 60_000)

describe('the Keys view at 100,000 keys', () => {
  test('holds only a window of rows in the DOM and scrolls to the last keys', async () => {
    requireChromium()
    const started = Date.now()
    await load(client!)
    console.info(`loaded ${TOTAL} keys in ${((Date.now() - started) / 1000).toFixed(1)} s`)
    const count = await client!.getAll().prefix('/bulk/').count()
    expect(count).toBe(TOTAL)

    page = await browser!.newPage({ viewport: { width: 1400, height: 900 } })
    await page.goto(host!.url)
    await page.click(byTestId('nav-keys'))
    await expect
      .poll(() => page.textContent(byTestId('key-count')), { timeout: 20_000 })
      .toMatch(/\b100000 keys/)
    await page.locator(byTestId(`key-row-${keyAt(0)}`)).waitFor({ timeout: 20_000 })
    const first = await renderedKeys()
    expect(first.length).toBeGreaterThan(10)
    expect(first.length).toBeLessThan(MAX_ROWS_IN_DOM)
    expect(first[0]).toBe(keyAt(0))

    // Halfway: the rows there are loaded on demand and are the keys that sort there.
    await scrollListTo(0.5)
    await expect
      .poll(
        async () => {
          const rows = await renderedKeys()
          return rows.some((k) => k >= keyAt(49_000) && k <= keyAt(51_000))
        },
        { timeout: 20_000 },
      )
      .toBe(true)
    expect((await renderedKeys()).length).toBeLessThan(MAX_ROWS_IN_DOM)

    await scrollListTo(1)
    const last = page.locator(byTestId(`key-row-${keyAt(TOTAL - 1)}`))
    await last.waitFor({ timeout: 20_000 })
    expect(await last.isVisible()).toBe(true)
    const end = await renderedKeys()
    expect(end.length).toBeLessThan(MAX_ROWS_IN_DOM)
    expect(end.at(-1)).toBe(keyAt(TOTAL - 1))
    await screenshot(page, 'keys-100k')
  }, 150_000)
})
