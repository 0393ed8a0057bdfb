// Virtual scrolling with a fixed row height: a spacer as tall as every row together keeps the
// scrollbar honest, and only the rows in (or just around) the viewport exist in the DOM. With
// 100,000 keys the browser lays out a few dozen rows instead of all of them.

import { computed, onBeforeUnmount, onMounted, ref, toValue, watch } from 'vue'
import type { MaybeRefOrGetter, Ref } from 'vue'

export interface VirtualListOptions {
  /** Rows in all, loaded or not. */
  readonly count: MaybeRefOrGetter<number>
  /** Pixels per row; every row must have exactly this height. */
  readonly rowHeight: number
  /** Rows rendered beyond each edge of the viewport, so fast scrolling does not show gaps. */
  readonly overscan?: number
  /** Used until the container has been measured (and where layout is absent, as in tests). */
  readonly fallbackHeight?: number
}

export interface VirtualList {
  /** Bind with ref="container" on the scrolling element. */
  readonly container: Ref<HTMLElement | null>
  /** First rendered row (inclusive) and last (exclusive). */
  readonly start: Readonly<Ref<number>>
  readonly end: Readonly<Ref<number>>
  /** The indexes to render, in order. */
  readonly indexes: Readonly<Ref<number[]>>
  readonly totalHeight: Readonly<Ref<number>>
  /** Where the first rendered row sits inside the spacer. */
  readonly offsetY: Readonly<Ref<number>>
  onScroll(): void
  /** Scrolls just enough to show row `index`. */
  scrollToIndex(index: number): void
}

export function useVirtualList(options: VirtualListOptions): VirtualList {
  const { rowHeight } = options
  const overscan = options.overscan ?? 8
  const container = ref<HTMLElement | null>(null)
  const scrollTop = ref(0)
  const viewportHeight = ref(options.fallbackHeight ?? 600)

  const count = computed(() => Math.max(0, toValue(options.count)))
  const totalHeight = computed(() => count.value * rowHeight)
  const start = computed(() =>
    Math.min(count.value, Math.max(0, Math.floor(scrollTop.value / rowHeight) - overscan)),
  )
  const end = computed(() =>
    Math.min(
      count.value,
      Math.ceil((scrollTop.value + viewportHeight.value) / rowHeight) + overscan,
    ),
  )
  const indexes = computed(() => {
    const out: number[] = []
    for (let i = start.value; i < end.value; i++) out.push(i)
    return out
  })
  const offsetY = computed(() => start.value * rowHeight)

  function measure(): void {
    const el = container.value
    if (el !== null && el.clientHeight > 0) viewportHeight.value = el.clientHeight
  }

  function onScroll(): void {
    const el = container.value
    if (el !== null) scrollTop.value = el.scrollTop
    measure()
  }

  function scrollToIndex(index: number): void {
    const el = container.value
    const top = index * rowHeight
    let next = scrollTop.value
    if (top < next) next = top
    else if (top + rowHeight > next + viewportHeight.value) {
      next = top + rowHeight - viewportHeight.value
    }
    if (el !== null) el.scrollTop = next
    scrollTop.value = next
  }

  // A list that shrinks (a narrower search) must not leave the viewport past its end.
  watch(totalHeight, (height) => {
    const maxTop = Math.max(0, height - viewportHeight.value)
    if (scrollTop.value > maxTop) {
      scrollTop.value = maxTop
      if (container.value !== null) container.value.scrollTop = maxTop
    }
  })

  let observer: ResizeObserver | null = null
  onMounted(() => {
    measure()
    if (typeof ResizeObserver !== 'undefined' && container.value !== null) {
      observer = new ResizeObserver(measure)
      observer.observe(container.value)
    }
  })
  onBeforeUnmount(() => observer?.disconnect())

  return { container, start, end, indexes, totalHeight, offsetY, onScroll, scrollToIndex }
}
