// The real GUI in Chromium, served by `raftlab web`, against real node processes: one host and
// one page for the whole file, the tests walking through a session in order (create a cluster,
// write keys, break and heal it, read its log, export it). Each view is also photographed for
// README.md.

import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { ClusterStatus } from '../../src/shared/api'
import { etcdctl } from '../support/etcd'
import {
  chromiumInstalled,
  launchChromium,
  requireChromium,
  screenshot,
  startWeb,
  type WebHost,
} from './support/harness'

/** Liveness bounds for a loaded 2-core machine: generous on purpose. */
const LEADER_MS = 20_000
const LIVE_MS = 15_000

let host: WebHost | undefined
let browser: Browser | undefined
let page: Page
const pageErrors: string[] = []

const byTestId = (id: string): string => `[data-testid="${id}"]`

/** Waits for `check` to stop throwing; rethrows its last failure once `ms` have passed. */
async function eventually<T>(check: () => Promise<T>, ms = LIVE_MS): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    try {
      return await check()
    } catch (e) {
      if (Date.now() > deadline) throw e
      await new Promise((r) => setTimeout(r, 200))
    }
  }
}

function api(): WebHost['api'] {
  if (!host) throw new Error('the web host did not start')
  return host.api
}

async function status(): Promise<ClusterStatus> {
  return api().status()
}

async function endpoints(): Promise<string> {
  return (await status()).nodes
    .filter((n) => n.process === 'running')
    .map((n) => n.client)
    .join(',')
}

async function show(view: 'cluster' | 'keys' | 'log' | 'events'): Promise<void> {
  await page.click(byTestId(`nav-${view}`))
}

/**
 * The rows of running nodes that say they lead. A stopped node's row keeps the role it last
 * reported (its badge says "stopped"), so only running rows count.
 */
const LEADER_ROWS = '[data-testid^="node-row-"][data-process="running"][data-role="leader"]'

/** The node the node table marks as leader (exactly one running row), as a number. */
async function leaderInTable(): Promise<number> {
  const rows = page.locator(LEADER_ROWS)
  await expect.poll(() => rows.count(), { timeout: LEADER_MS }).toBe(1)
  const id = (await rows.getAttribute('data-testid'))?.replace('node-row-', '')
  return Number(id)
}

/** What the page says of itself when a step fails: its error toasts and the node table. */
async function explain(e: unknown): Promise<Error> {
  const toasts = await page.locator(byTestId('toast')).allTextContents()
  const alerts = await page.locator('[role="alert"]').allTextContents()
  const table = await page
    .locator(byTestId('node-table'))
    .innerText({ timeout: 1000 })
    .catch(() => '(no node table)')
  const exits = await status()
    .then((st) =>
      st.nodes
        .filter((n) => n.lastExit !== null)
        .map((n) => `node ${n.id} exited:\n  ${n.lastExit!.lastLines.join('\n  ')}`)
        .join('\n'),
    )
    .catch((err: unknown) => `(no status: ${String(err)})`)
  const why = e instanceof Error ? e.message : String(e)
  return new Error(
    `${why}\ntoasts: ${JSON.stringify(toasts)}\nalerts: ${JSON.stringify(alerts)}\n` +
      `node table:\n${table}\n${exits}`,
    { cause: e },
  )
}

/** Set once the first test has a running cluster; the others need it. */
let clusterUp = false

/** Later tests fail at once, instead of each waiting out its timeouts, when there is no cluster. */
function needCluster(): void {
  requireChromium()
  if (!clusterUp)
    throw new Error('no cluster: the first test could not create one (see its failure)')
}

/** The page's background colour (a string expression: this project compiles without the DOM lib). */
async function bodyBackground(): Promise<string> {
  return String(await page.evaluate('getComputedStyle(document.body).backgroundColor'))
}

async function etcdGet(key: string, endpoint?: string, serializable = false): Promise<string> {
  const r = await etcdctl(endpoint ?? (await endpoints()), [
    'get',
    key,
    '--print-value-only',
    ...(serializable ? ['--consistency=s'] : []),
  ])
  if (r.code !== 0) throw new Error(`etcdctl get ${key}: ${r.stderr}`)
  return r.stdout.trim()
}

async function etcdPut(key: string, value: string, endpoint?: string): Promise<void> {
  const r = await etcdctl(endpoint ?? (await endpoints()), ['put', key, value])
  if (r.code !== 0) throw new Error(`etcdctl put ${key}: ${r.stderr}`)
}

beforeAll(async () => {
  // Without Chromium there is nothing to set up: each test then fails, naming what to install.
  if (!chromiumInstalled()) return
  host = await startWeb()
  browser = await launchChromium()
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } })
  page.on('pageerror', (e) => pageErrors.push(e.message))
  await page.goto(host.url)
}, 90_000)

afterAll(async () => {
  await browser?.close().catch(() => {})
  await host?.stop()
  if (pageErrors.length > 0) console.warn(`errors in the page:\n${pageErrors.join('\n')}`)
}, 60_000)

describe('the GUI in Chromium against real nodes', { timeout: 90_000 }, () => {
  test('creates a 3-node cluster from the form and shows its leader in the node table', async () => {
    requireChromium()
    const form = page.locator(byTestId('create-cluster-form'))
    await form.waitFor({ timeout: LIVE_MS })
    await page.fill(byTestId('create-nodes'), '3')
    // A 50 ms tick: elections in about half a second, without mistaking a busy machine for a
    // dead leader.
    await page.fill(byTestId('create-tick'), '50')
    await page.click(byTestId('create-submit'))

    const leader = await leaderInTable().catch(async (e: unknown) => {
      throw await explain(e)
    })
    for (const id of [1, 2, 3]) {
      await expect
        .poll(() => page.getAttribute(byTestId(`node-row-${id}`), 'data-process'), {
          timeout: LEADER_MS,
        })
        .toBe('running')
    }
    await expect.poll(() => page.textContent(byTestId('leader-badge'))).toContain(String(leader))
    expect((await status()).leader).toBe(leader)
    // Let the topology settle (every node reporting its term) before the picture is taken.
    await expect
      .poll(async () => page.locator('[data-testid^="node-row-"][data-role="follower"]').count(), {
        timeout: LEADER_MS,
      })
      .toBe(2)
    await screenshot(page, 'cluster')
    clusterUp = true
  })

  test('a key put in the editor can be read with etcdctl', async () => {
    needCluster()
    await show('keys')
    await page.click(byTestId('key-new'))
    await page.fill(byTestId('key-editor-key'), '/e2e/gui')
    await page.fill(byTestId('key-editor-value'), '{"written": "in the GUI", "n": 1}')
    await page.click(byTestId('key-save'))

    const written = await eventually(async () => {
      const v = await etcdGet('/e2e/gui')
      if (v === '') throw new Error('etcdctl found no /e2e/gui after the GUI saved it')
      return v
    }).catch(async (e: unknown) => {
      throw await explain(e)
    })
    expect(written).toBe('{"written": "in the GUI", "n": 1}')
    await page.locator(byTestId('key-row-/e2e/gui')).waitFor({ timeout: LIVE_MS })
    await page.click(byTestId('key-row-/e2e/gui'))
    await page.locator(byTestId('key-meta')).waitFor({ timeout: LIVE_MS })
    await expect.poll(() => page.textContent(byTestId('value-kind'))).toBe('json')
    await screenshot(page, 'key-editor')
  })

  test('a key put with etcdctl appears in the Keys view without a reload', async () => {
    needCluster()
    // A mark on the page's window: it survives only if the page is never reloaded.
    await page.evaluate('window.e2eNoReload = true')
    await etcdPut('/e2e/live', 'from etcdctl')
    await page.locator(byTestId('key-row-/e2e/live')).waitFor({ timeout: LIVE_MS })
    // Several more, so the picture of the view has something to show.
    for (const k of ['/app/config', '/app/feature/dark-mode', '/app/feature/search', '/users/1']) {
      await etcdPut(k, `value of ${k}`)
    }
    await page.locator(byTestId('key-row-/users/1')).waitFor({ timeout: LIVE_MS })
    expect(await page.evaluate('window.e2eNoReload')).toBe(true)
    await screenshot(page, 'keys')

    // The same keys as a tree of folders split at "/".
    await page.click(byTestId('key-mode-tree'))
    const tree = page.locator(byTestId('key-tree'))
    await tree.waitFor({ timeout: LIVE_MS })
    const collapsed = tree.locator('[data-testid^="key-folder-"][aria-expanded="false"]')
    for (let opened = 0; (await collapsed.count()) > 0 && opened < 10; opened++) {
      await collapsed.first().click()
    }
    await tree.locator(byTestId('key-row-/app/feature/search')).waitFor({ timeout: LIVE_MS })
    await screenshot(page, 'keys-tree')
    await page.click(byTestId('key-mode-list'))
  })

  test('a stale edit is refused, and reload shows the value written behind the GUI', async () => {
    needCluster()
    await page.click(byTestId('key-row-/e2e/live'))
    await expect
      .poll(() => page.textContent(byTestId('key-editor-title')), { timeout: LIVE_MS })
      .toBe('/e2e/live')
    await expect.poll(() => page.inputValue(byTestId('key-editor-value'))).toBe('from etcdctl')
    await page.fill(byTestId('key-editor-value'), 'my edit in the GUI')
    await etcdPut('/e2e/live', 'changed behind your back')
    // The watch tells the editor first. Its banner goes in above the Save button and moves it:
    // a click aimed before it arrives can land on the text instead and save nothing.
    await page.locator(byTestId('key-remote-change')).waitFor({ timeout: LIVE_MS })
    expect(await page.inputValue(byTestId('key-editor-value'))).toBe('my edit in the GUI')
    await page.click(byTestId('key-save'))

    // Either outcome ends the wait, so that an error says what it was.
    await page
      .locator(`${byTestId('stale-banner')}, ${byTestId('key-error')}`)
      .first()
      .waitFor({ timeout: LIVE_MS })
    expect(await page.locator(byTestId('key-error')).allTextContents()).toEqual([])
    await page.locator(byTestId('stale-banner')).waitFor({ timeout: LIVE_MS })
    // The refused edit wrote nothing.
    expect(await etcdGet('/e2e/live')).toBe('changed behind your back')
    await screenshot(page, 'key-stale')
    await page.click(byTestId('key-reload'))
    await expect
      .poll(() => page.inputValue(byTestId('key-editor-value')), { timeout: LIVE_MS })
      .toBe('changed behind your back')
    await expect(page.locator(byTestId('stale-banner')).count()).resolves.toBe(0)
  })

  test('killing the leader from the node table makes another node leader', async () => {
    needCluster()
    await show('cluster')
    const old = await leaderInTable()
    await page.click(byTestId(`node-kill-${old}`))
    await expect
      .poll(() => page.getAttribute(byTestId(`node-row-${old}`), 'data-process'), {
        timeout: LIVE_MS,
      })
      .toBe('stopped')
    await expect.poll(() => page.textContent(byTestId(`role-${old}`))).toBe('stopped')
    await expect
      .poll(
        async () => {
          const rows = page.locator(LEADER_ROWS)
          if ((await rows.count()) !== 1) return 'no single leader'
          return (await rows.getAttribute('data-testid')) ?? 'no id'
        },
        { timeout: LEADER_MS },
      )
      .toMatch(new RegExp(`^node-row-(?!${old}$)\\d+$`))
    // Bring the old leader back, so the cluster has all three voters for what follows.
    await page.click(byTestId(`node-start-${old}`))
    await expect
      .poll(() => page.getAttribute(byTestId(`node-row-${old}`), 'data-role'), {
        timeout: LEADER_MS,
      })
      .toBe('follower')
  })

  test('an isolated node is shown as partitioned, and rejoins after heal', async () => {
    needCluster()
    const leader = await leaderInTable()
    const victim = [1, 2, 3].find((id) => id !== leader)!
    await page.click(byTestId(`fault-isolate-${victim}`))

    const summary = page.locator(byTestId('fault-summary-partition'))
    await summary.waitFor({ timeout: LIVE_MS })
    expect(await summary.textContent()).toContain(`{${victim}}`)
    await page.locator(byTestId('topo-group-1')).waitFor({ timeout: LIVE_MS })
    const others = [1, 2, 3].filter((id) => id !== victim)
    for (const other of others) {
      const [a, b] = [Math.min(victim, other), Math.max(victim, other)]
      await expect
        .poll(() => page.getAttribute(byTestId(`topo-link-${a}-${b}`), 'data-state'), {
          timeout: LIVE_MS,
        })
        .toBe('blocked')
    }
    expect((await status()).faults.partitions.some((g) => g.length === 1 && g[0] === victim)).toBe(
      true,
    )
    // A write the isolated node cannot see until it rejoins.
    const nodes = (await status()).nodes
    const victimEndpoint = nodes.find((n) => n.id === victim)!.client
    // Through the majority: the isolated node rightly answers "no leader" to a write.
    const majority = nodes.filter((n) => n.id !== victim).map((n) => n.client)
    await etcdPut('/e2e/during-partition', 'majority side', majority.join(','))
    expect(await etcdGet('/e2e/during-partition', victimEndpoint, true)).toBe('')
    await screenshot(page, 'cluster-partitioned')

    await page.click(byTestId('fault-heal'))
    await expect
      .poll(() => page.textContent(byTestId('fault-summary')), { timeout: LIVE_MS })
      .toContain('The network is whole.')
    await expect(page.locator(byTestId('topo-group-1')).count()).resolves.toBe(0)
    // A serializable read answers from the node's own state: it has the write once it rejoined.
    await eventually(async () => {
      const v = await etcdGet('/e2e/during-partition', victimEndpoint, true)
      if (v !== 'majority side') throw new Error(`node ${victim} still reads "${v}"`)
    }, LEADER_MS)
    await expect
      .poll(() => page.getAttribute(byTestId(`node-row-${victim}`), 'data-role'), {
        timeout: LEADER_MS,
      })
      .toMatch(/^(follower|leader)$/)
  })

  test('an added node becomes a voter, and a removed node leaves the table', async () => {
    needCluster()
    await page.click(byTestId('cluster-add-node'))
    const row = page.locator(byTestId('node-row-4'))
    await row.waitFor({ timeout: LEADER_MS })
    await expect.poll(() => row.getAttribute('data-member'), { timeout: 30_000 }).toBe('voter')
    await expect
      .poll(() => row.getAttribute('data-role'), { timeout: LEADER_MS })
      .toMatch(/^(follower|leader)$/)
    expect((await status()).nodes.find((n) => n.id === 4)?.raft?.voters).toContain(4)

    // Remove is a confirm button: the first click arms it, the second confirms.
    await page.click(byTestId('node-remove-4'))
    await page.click(byTestId('node-remove-4'))
    // The table may drop the row, or keep it as a stopped, removed member so its data and
    // last lines can still be read: either way it must no longer be a running member.
    await expect
      .poll(
        async () => {
          if ((await row.count()) === 0) return 'gone'
          return `${await row.getAttribute('data-member')} ${await row.getAttribute('data-process')}`
        },
        { timeout: 30_000 },
      )
      .toMatch(/^(gone|removed stopped)$/)
      .catch(async (e: unknown) => {
        throw await explain(e)
      })
    const s = await status()
    const four = s.nodes.find((n) => n.id === 4)
    if (four) expect([four.member, four.process]).toEqual(['removed', 'stopped'])
    const voters = s.nodes.find((n) => n.id === s.leader)?.raft?.voters ?? []
    expect(voters.length).toBe(3)
    expect(voters).not.toContain(4)
  })

  test('the Log view finds the entry that wrote a key, by filter and by the jump from Keys', async () => {
    needCluster()
    await show('log')
    await page.locator(byTestId('log-table')).waitFor({ timeout: LIVE_MS })
    await page.fill(byTestId('log-key-filter'), '/e2e/gui')
    await page.click(byTestId('log-apply'))
    const rows = page.locator('[data-testid^="log-row-"]')
    await expect.poll(() => rows.count(), { timeout: LIVE_MS }).toBeGreaterThan(0)
    const summaries = await page.locator('[data-testid^="log-row-"] .summary').allTextContents()
    expect(summaries.length).toBeGreaterThan(0)
    for (const s of summaries) expect(s).toContain('/e2e/gui')
    await rows.first().click()
    await page.locator(byTestId('log-entry-detail')).waitFor({ timeout: LIVE_MS })
    expect(await page.textContent(byTestId('log-entry-keys'))).toContain('/e2e/gui')
    await screenshot(page, 'log')

    // The jump: from the key's metadata straight to the entry that wrote its current value.
    await show('keys')
    await page.fill(byTestId('key-search'), '/e2e/')
    await page.locator(byTestId('key-row-/e2e/gui')).waitFor({ timeout: LIVE_MS })
    await page.click(byTestId('key-row-/e2e/gui'))
    // The metadata pane shows the previously open key until the new one has loaded.
    await expect
      .poll(() => page.textContent(byTestId('key-editor-title')), { timeout: LIVE_MS })
      .toContain('/e2e/gui')
    await page.click(byTestId('key-show-in-log'))
    await page.locator(byTestId('log-view')).waitFor({ timeout: LIVE_MS })
    await page.locator(byTestId('log-entry-detail')).waitFor({ timeout: LIVE_MS })
    expect(await page.textContent(byTestId('log-entry-keys'))).toContain('/e2e/gui')
    expect(await page.textContent(byTestId('log-entry-command'))).toContain('/e2e/gui')
    await page.click(byTestId('log-clear'))

    await page.check(byTestId('log-compare'))
    await page.locator(byTestId('log-compare-table')).waitFor({ timeout: LIVE_MS })
    await expect
      .poll(() => page.locator('[data-testid^="log-compare-row-"]').count(), { timeout: LIVE_MS })
      .toBeGreaterThan(0)
    await screenshot(page, 'log-compare')
    await page.uncheck(byTestId('log-compare'))
  })

  test('the Events view shows the session, and the dark theme follows the system', async () => {
    needCluster()
    await show('events')
    await page.locator(byTestId('event-timeline')).waitFor({ timeout: LIVE_MS })
    const text = await page.textContent(byTestId('event-timeline'))
    expect(text).toMatch(/leader/i)
    await screenshot(page, 'events')

    await page.emulateMedia({ colorScheme: 'dark' })
    await show('cluster')
    await page.locator(byTestId('node-table')).waitFor({ timeout: LIVE_MS })
    const background = await bodyBackground()
    await screenshot(page, 'cluster-dark')
    await page.emulateMedia({ colorScheme: 'light' })
    const lightBackground = await bodyBackground()
    expect(background).not.toBe(lightBackground)
  })

  test('at 1024 px wide every node control is in view without scrolling sideways', async () => {
    needCluster()
    await page.setViewportSize({ width: 1024, height: 700 })
    try {
      await show('cluster')
      const wrap = page.locator(`${byTestId('node-table')} >> xpath=..`)
      await wrap.waitFor({ timeout: LIVE_MS })
      const overflow = await wrap.evaluate((el) => el.scrollWidth - el.clientWidth)
      expect(overflow).toBeLessThanOrEqual(0)
      const box = await wrap.boundingBox()
      const controls = page.locator(`${byTestId('node-table')} td.controls-cell button`)
      expect(await controls.count()).toBeGreaterThan(0)
      for (const b of await controls.all()) {
        const r = await b.boundingBox()
        expect(r && box && r.x + r.width <= box.x + box.width).toBe(true)
      }
    } finally {
      await page.setViewportSize({ width: 1400, height: 900 })
    }
  })

  test('exports a debug bundle into the workspace and shows its path', async () => {
    needCluster()
    await show('cluster')
    const button = page.locator(byTestId('export-bundle'))
    if ((await button.count()) === 0) {
      throw new Error(
        'the GUI has no control to export a debug bundle (expected a button ' +
          'data-testid="export-bundle" calling exportBundle and showing the path in ' +
          'data-testid="export-bundle-path")',
      )
    }
    await button.click()
    const shown = page.locator(byTestId('export-bundle-path'))
    await shown.waitFor({ timeout: 30_000 })
    const exportsDir = join(host!.workspace, 'exports')
    const files = await readdir(exportsDir)
    expect(files.length).toBe(1)
    const file = join(exportsDir, files[0]!)
    expect(await shown.textContent()).toContain(files[0]!)
    const head = (await readFile(file)).subarray(0, 2)
    // Every gzip stream starts with 1f 8b.
    expect([...head]).toEqual([0x1f, 0x8b])
  })
})
