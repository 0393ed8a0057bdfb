import { onBeforeUnmount, onMounted } from 'vue'

export type ShortcutAction = 'search' | 'refresh' | 'delete' | 'save' | 'help'

export interface Shortcut {
  readonly action: ShortcutAction
  /** As the help overlay shows them. */
  readonly keys: readonly string[]
  readonly description: string
}

export const SHORTCUTS: readonly Shortcut[] = [
  { action: 'search', keys: ['/', 'Ctrl+K'], description: 'Search or filter the current view' },
  { action: 'refresh', keys: ['R'], description: 'Reload the current view from the cluster' },
  { action: 'delete', keys: ['Delete'], description: 'Delete the selected item' },
  { action: 'save', keys: ['Ctrl+S'], description: 'Save the open editor' },
  { action: 'help', keys: ['?'], description: 'Show or hide this list' },
]

export type ShortcutHandlers = Partial<Record<ShortcutAction, () => void>>

/**
 * The single keys act only outside text fields (typing "r" in a search box must not reload);
 * the Ctrl chords work everywhere, as they do in editors. Cmd counts as Ctrl on macOS.
 */
export function shortcutOf(e: KeyboardEvent): ShortcutAction | null {
  const chord = e.ctrlKey || e.metaKey
  if (chord && !e.altKey) {
    const k = e.key.toLowerCase()
    if (k === 'k') return 'search'
    if (k === 's') return 'save'
    return null
  }
  if (e.altKey || isTextField(e.target)) return null
  switch (e.key) {
    case '/':
      return 'search'
    case 'r':
    case 'R':
      return e.shiftKey ? null : 'refresh'
    case 'Delete':
      return 'delete'
    case '?':
      return 'help'
    default:
      return null
  }
}

function isTextField(target: EventTarget | null): boolean {
  if (!target || typeof (target as Element).tagName !== 'string') return false
  const el = target as HTMLElement
  if (el.isContentEditable) return true
  const tag = el.tagName.toLowerCase()
  if (tag === 'textarea' || tag === 'select') return true
  if (tag !== 'input') return false
  const type = (el as HTMLInputElement).type
  return !['checkbox', 'radio', 'button', 'submit', 'reset', 'range', 'color'].includes(type)
}

// Components register handlers while they are mounted; the most recently mounted one that
// handles an action wins, so a dialog opened over a view takes the keys from it.
const layers: ShortcutHandlers[] = []

/** Handles `action` with the innermost layer that wants it; false when none does. */
export function dispatchShortcut(action: ShortcutAction): boolean {
  for (let i = layers.length - 1; i >= 0; i--) {
    const handler = layers[i]?.[action]
    if (handler) {
      handler()
      return true
    }
  }
  return false
}

/** Registers this component's handlers for as long as it is mounted. */
export function useShortcuts(handlers: ShortcutHandlers): void {
  onMounted(() => layers.push(handlers))
  onBeforeUnmount(() => {
    const i = layers.lastIndexOf(handlers)
    if (i >= 0) layers.splice(i, 1)
  })
}

/** The one keydown listener of the app; App.vue installs it. */
export function useShortcutListener(): void {
  const onKey = (e: KeyboardEvent): void => {
    if (e.defaultPrevented || e.isComposing) return
    const action = shortcutOf(e)
    if (!action) return
    // Ctrl+S and Ctrl+K belong to the app even where no view handles them now (no browser
    // "save page" dialog over a view that has nothing to save).
    if (dispatchShortcut(action) || e.ctrlKey || e.metaKey) e.preventDefault()
  }
  onMounted(() => document.addEventListener('keydown', onKey))
  onBeforeUnmount(() => document.removeEventListener('keydown', onKey))
}
