import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { Progress } from '../../shared/api'
import { errorMessage } from '../errors'

export type ViewName = 'cluster' | 'keys' | 'log' | 'events'

export const VIEWS: readonly { readonly name: ViewName; readonly label: string }[] = [
  { name: 'cluster', label: 'Cluster' },
  { name: 'keys', label: 'Keys' },
  { name: 'log', label: 'Log' },
  { name: 'events', label: 'Events' },
]

export interface Toast {
  readonly id: number
  readonly kind: 'error' | 'info'
  readonly message: string
}

/** Errors stay until read; at most this many pile up, the oldest go first. */
const MAX_TOASTS = 5
const INFO_TOAST_MS = 4000
/** A finished task's bar stays a moment, so a fast one is still seen to end. */
const PROGRESS_LINGER_MS = 1500

/** What the shell shows around the views: the current view, toasts, progress, the help overlay. */
export const useUiStore = defineStore('ui', () => {
  const view = ref<ViewName>('cluster')
  const helpOpen = ref(false)
  const toasts = ref<Toast[]>([])
  const progress = ref<Progress[]>([])
  let nextToast = 1

  function show(name: ViewName): void {
    view.value = name
  }

  function notify(kind: Toast['kind'], message: string): void {
    const toast: Toast = { id: nextToast++, kind, message }
    toasts.value = [...toasts.value, toast].slice(-MAX_TOASTS)
    if (kind === 'info') setTimeout(() => dismiss(toast.id), INFO_TOAST_MS)
  }

  /** A failed call as a sentence: what the user tried, then what the host said. */
  function reportError(action: string, cause: unknown): void {
    notify('error', `${action} failed: ${errorMessage(cause)}`)
  }

  function dismiss(id: number): void {
    toasts.value = toasts.value.filter((t) => t.id !== id)
  }

  function trackProgress(p: Progress): void {
    const others = progress.value.filter((x) => x.task !== p.task)
    progress.value = [...others, p]
    if (p.total !== null && p.done >= p.total) {
      // Only the finished run goes: a new run of the same task may have started meanwhile.
      setTimeout(() => {
        progress.value = progress.value.filter(
          (x) => x.task !== p.task || x.total === null || x.done < x.total,
        )
      }, PROGRESS_LINGER_MS)
    }
  }

  return {
    view,
    helpOpen,
    toasts,
    progress,
    show,
    notify,
    reportError,
    dismiss,
    trackProgress,
  }
})
