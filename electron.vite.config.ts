import vue from '@vitejs/plugin-vue'
import { defineConfig } from 'electron-vite'
import { resolve } from 'node:path'

const root = import.meta.dirname

// Output formats. package.json says "type": "module", so out/main/*.js is ESM and every
// Electron-free entry runs in plain Node as `node out/main/<entry>.js`. The preload is the
// exception: Electron runs sandboxed preloads as CommonJS only, so it is built as CJS and named
// .cjs (a .js file would be read as ESM under "type": "module").
// Packages in "dependencies" stay external in main (electron-vite's build.externalizeDeps,
// on by default), so node processes load them from node_modules at run time.
export default defineConfig({
  main: {
    build: {
      rolldownOptions: {
        // One entry per program that runs in the main-side Node code; each becomes
        // out/main/<key>.js. Later issues add the browser-mode server here.
        input: {
          index: resolve(root, 'src/main/index.ts'),
          node: resolve(root, 'src/main/node/main.ts'),
          cli: resolve(root, 'src/main/cli/main.ts'),
        },
      },
    },
  },
  preload: {
    build: {
      rolldownOptions: {
        input: { index: resolve(root, 'src/preload/index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: resolve(root, 'src/renderer'),
    build: {
      rolldownOptions: { input: resolve(root, 'src/renderer/index.html') },
    },
    plugins: [vue()],
  },
})
