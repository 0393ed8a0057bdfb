// The walls of DESIGN.md ("The house"), checked on the import graph of src/.
//
// Imports are read from the TypeScript AST (static, type-only, re-exports, `import x =
// require()`, `require()`, dynamic `import()`, `import('x').T` types and triple-slash
// references), never by regular expressions, so comments and strings cannot fool it.
// .vue files are split with Vue's own SFC parser and their <script> blocks checked the same way.
import { readdirSync, readFileSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { join, posix, relative, sep } from 'node:path'
import ts from 'typescript'
import { parse as parseSfc } from 'vue/compiler-sfc'

/** A source file: `path` is relative to the repository root with '/' separators. */
export interface SourceText {
  readonly path: string
  readonly text: string
}

export interface Violation {
  readonly file: string
  readonly line: number
  readonly message: string
}

export function formatViolation(violation: Violation): string {
  return `${violation.file}:${violation.line}: ${violation.message}`
}

const sourceExtensions = /\.(ts|tsx|mts|cts|js|mjs|cjs|vue)$/

/** Every source file under `<root>/src`, as the checker wants them. */
export function readSourceTree(root: string): SourceText[] {
  const files: SourceText[] = []
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name)
      if (entry.isDirectory()) walk(full)
      else if (entry.isFile() && sourceExtensions.test(entry.name)) {
        files.push({
          path: relative(root, full).split(sep).join('/'),
          text: readFileSync(full, 'utf8'),
        })
      }
    }
  }
  walk(join(root, 'src'))
  return files.sort((a, b) => a.path.localeCompare(b.path))
}

// ---------------------------------------------------------------------------------------------
// The rules

const RAFT = 'src/main/raft'
const KV = 'src/main/kv'
const SHARED = 'src/shared'
const RENDERER = 'src/renderer'
const PRELOAD = 'src/preload'
const MAIN = 'src/main'
const ELECTRON_DIR = 'src/main/electron'
const ELECTRON_ENTRY = 'src/main/index'
/** Folders that run the processes; the state machine and the consensus core sit below them. */
const ABOVE_KV_AND_RAFT = ['node', 'cluster', 'server', 'cli', 'electron'].map(
  (d) => `${MAIN}/${d}`,
)

const timeReason = 'the consensus core is driven by tick(): no clocks and no timers'
/** Globals the consensus core must not touch, and why. */
const globalsBannedInRaft: ReadonlyMap<string, string> = new Map([
  ['setTimeout', timeReason],
  ['setInterval', timeReason],
  ['setImmediate', timeReason],
  ['queueMicrotask', timeReason],
  ['Date', timeReason],
  ['performance', timeReason],
  ['process', 'the consensus core does no I/O and reads no process state'],
  ['crypto', 'randomness comes only from the injected seeded RNG'],
  ['globalThis', 'the consensus core does not reach into the global object'],
  ['global', 'the consensus core does not reach into the global object'],
])
const mathRandomReason = 'randomness comes only from the injected seeded RNG'

const nodeBuiltins = new Set(builtinModules)

type Target =
  | { readonly kind: 'builtin'; readonly name: string }
  | { readonly kind: 'package'; readonly name: string }
  | { readonly kind: 'file'; readonly path: string }

function resolveSpecifier(file: string, specifier: string): Target {
  if (specifier.startsWith('.') || specifier.startsWith('/')) {
    const joined = specifier.startsWith('/')
      ? posix.normalize(specifier.slice(1))
      : posix.normalize(posix.join(posix.dirname(file), specifier))
    return { kind: 'file', path: joined.replace(/\.(d\.)?(ts|tsx|mts|cts|js|mjs|cjs|vue)$/, '') }
  }
  const first = specifier.split('/')[0] ?? specifier
  const isNode =
    specifier.startsWith('node:') || specifier === '@types/node' || nodeBuiltins.has(first)
  if (isNode || nodeBuiltins.has(specifier)) {
    return { kind: 'builtin', name: specifier }
  }
  const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : first
  return { kind: 'package', name }
}

function isUnder(path: string, dir: string): boolean {
  return path === dir || path.startsWith(`${dir}/`)
}

function isElectronEntry(path: string): boolean {
  return path === ELECTRON_ENTRY || path === MAIN
}

/** The wall messages for one import of `file`. */
function importViolations(file: string, specifier: string): string[] {
  const target = resolveSpecifier(file, specifier)
  const from = file.replace(/\.[^./]+$/, '')
  const messages: string[] = []

  // 'electron' only in Electron's entry, its folder, and the preload.
  if (target.kind === 'package' && target.name === 'electron') {
    if (!(isElectronEntry(from) || isUnder(file, ELECTRON_DIR) || isUnder(file, PRELOAD))) {
      messages.push(
        `imports '${specifier}': only src/main/index.ts, src/main/electron/ and src/preload/ may import electron`,
      )
    }
  }
  if (target.kind === 'file') {
    const to = target.path
    // The rest of main stays Electron-free, so it must not reach electron through our own files.
    if (
      (isUnder(to, ELECTRON_DIR) || isElectronEntry(to)) &&
      !(isElectronEntry(from) || isUnder(file, ELECTRON_DIR))
    ) {
      messages.push(
        `imports '${specifier}': src/main/index.ts and src/main/electron/ are Electron's; the rest of src/main stays Electron-free`,
      )
    }
    if (isUnder(to, RENDERER) && !isUnder(file, RENDERER)) {
      messages.push(`imports '${specifier}': nothing outside src/renderer/ imports the renderer`)
    }
  }

  if (isUnder(file, RAFT)) {
    if (target.kind === 'builtin') {
      messages.push(`imports Node builtin '${specifier}': the consensus core does no I/O`)
    } else if (target.kind === 'package') {
      messages.push(`imports package '${specifier}': src/main/raft imports nothing outside itself`)
    } else if (!isUnder(target.path, RAFT)) {
      messages.push(
        `imports '${specifier}' (${target.path}): src/main/raft imports nothing outside itself`,
      )
    }
  } else if (isUnder(file, KV) && target.kind === 'file') {
    const above = ABOVE_KV_AND_RAFT.find((dir) => isUnder(target.path, dir))
    if (above !== undefined) {
      messages.push(`imports '${specifier}': src/main/kv must not depend on ${above}/`)
    }
  }

  if (isUnder(file, SHARED)) {
    if (target.kind === 'builtin') {
      messages.push(`imports Node builtin '${specifier}': src/shared runs in the renderer too`)
    } else if (target.kind === 'file' && !isUnder(target.path, SHARED)) {
      messages.push(`imports '${specifier}' (${target.path}): src/shared imports only src/shared`)
    }
  }

  if (isUnder(file, RENDERER) && target.kind === 'file') {
    if (isUnder(target.path, MAIN) || isUnder(target.path, PRELOAD)) {
      messages.push(
        `imports '${specifier}': the renderer talks to main only through the API in src/shared`,
      )
    }
  }

  if (isUnder(file, PRELOAD) && target.kind === 'file') {
    if (!isUnder(target.path, PRELOAD) && !isUnder(target.path, SHARED)) {
      messages.push(`imports '${specifier}': the preload imports only electron and src/shared`)
    }
  }

  return messages
}

// ---------------------------------------------------------------------------------------------
// Reading one file

interface Script {
  readonly text: string
  /** Added to a line number in `text` to get the line in the file. */
  readonly lineOffset: number
  readonly kind: ts.ScriptKind
}

function scriptsOf(file: SourceText): Script[] {
  if (!file.path.endsWith('.vue')) {
    const kind = /\.(js|mjs|cjs)$/.test(file.path)
      ? ts.ScriptKind.JS
      : file.path.endsWith('.tsx')
        ? ts.ScriptKind.TSX
        : ts.ScriptKind.TS
    return [{ text: file.text, lineOffset: 0, kind }]
  }
  const { descriptor } = parseSfc(file.text, { filename: file.path })
  return [descriptor.script, descriptor.scriptSetup].flatMap((block) =>
    block === null
      ? []
      : [
          {
            text: block.content,
            lineOffset: block.loc.start.line - 1,
            kind: block.lang === 'ts' ? ts.ScriptKind.TS : ts.ScriptKind.JS,
          },
        ],
  )
}

interface ImportSite {
  /** null when the specifier is computed at run time and cannot be checked. */
  readonly specifier: string | null
  /** Where the import starts in the script. */
  readonly pos: number
}

function literalText(node: ts.Node | undefined): string | null {
  return node !== undefined &&
    (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node))
    ? node.text
    : null
}

function isRequireCall(node: ts.CallExpression): boolean {
  const callee = node.expression
  return (
    (ts.isIdentifier(callee) && callee.text === 'require') ||
    (ts.isPropertyAccessExpression(callee) &&
      ts.isIdentifier(callee.expression) &&
      callee.expression.text === 'require' &&
      callee.name.text === 'resolve')
  )
}

function collectImports(source: ts.SourceFile): ImportSite[] {
  const sites: ImportSite[] = []
  const add = (specifier: string | null, node: ts.Node): void => {
    sites.push({ specifier, pos: node.getStart(source) })
  }
  const visit = (node: ts.Node): void => {
    if (
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
      node.moduleSpecifier !== undefined
    ) {
      add(literalText(node.moduleSpecifier), node)
    } else if (
      ts.isImportEqualsDeclaration(node) &&
      ts.isExternalModuleReference(node.moduleReference)
    ) {
      add(literalText(node.moduleReference.expression), node)
    } else if (
      ts.isCallExpression(node) &&
      (node.expression.kind === ts.SyntaxKind.ImportKeyword || isRequireCall(node))
    ) {
      add(literalText(node.arguments[0]), node)
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(literalText(node.argument.literal), node)
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  for (const ref of source.referencedFiles) {
    const specifier = ref.fileName.startsWith('.') ? ref.fileName : `./${ref.fileName}`
    sites.push({ specifier, pos: ref.pos })
  }
  for (const ref of source.typeReferenceDirectives) {
    // `/// <reference types="node" />` brings in Node's globals, as an import of Node would.
    sites.push({ specifier: `@types/${ref.fileName}`, pos: ref.pos })
  }
  return sites
}

/** The identifier is the name being declared (a binding), not a use. */
function bindingNameOf(id: ts.Identifier): boolean {
  const parent = id.parent
  if (ts.isBindingElement(parent)) return parent.name === id
  return (
    ((ts.isVariableDeclaration(parent) ||
      ts.isFunctionDeclaration(parent) ||
      ts.isFunctionExpression(parent) ||
      ts.isClassDeclaration(parent) ||
      ts.isClassExpression(parent) ||
      ts.isParameter(parent) ||
      ts.isEnumDeclaration(parent) ||
      ts.isInterfaceDeclaration(parent) ||
      ts.isTypeAliasDeclaration(parent) ||
      ts.isTypeParameterDeclaration(parent) ||
      ts.isModuleDeclaration(parent) ||
      ts.isImportClause(parent) ||
      ts.isNamespaceImport(parent) ||
      ts.isImportEqualsDeclaration(parent)) &&
      parent.name === id) ||
    (ts.isImportSpecifier(parent) && parent.name === id)
  )
}

/** The identifier names a member or a label, which refers to no variable at all. */
function memberOrLabelName(id: ts.Identifier): boolean {
  const parent = id.parent
  if (ts.isShorthandPropertyAssignment(parent)) return false // `{ process }` reads the variable
  if (ts.isPropertyAccessExpression(parent) || ts.isQualifiedName(parent)) {
    return (ts.isPropertyAccessExpression(parent) ? parent.name : parent.right) === id
  }
  if (ts.isBindingElement(parent) || ts.isImportSpecifier(parent) || ts.isExportSpecifier(parent)) {
    return parent.propertyName === id
  }
  if (
    ts.isLabeledStatement(parent) ||
    ts.isBreakStatement(parent) ||
    ts.isContinueStatement(parent)
  ) {
    return parent.label === id
  }
  return (
    (ts.isPropertyAssignment(parent) ||
      ts.isPropertyDeclaration(parent) ||
      ts.isPropertySignature(parent) ||
      ts.isMethodDeclaration(parent) ||
      ts.isMethodSignature(parent) ||
      ts.isGetAccessorDeclaration(parent) ||
      ts.isSetAccessorDeclaration(parent) ||
      ts.isEnumMember(parent) ||
      ts.isNamedTupleMember(parent) ||
      ts.isExportSpecifier(parent)) &&
    parent.name === id
  )
}

function isMath(node: ts.Node): boolean {
  return ts.isIdentifier(node) && node.text === 'Math'
}

/** Uses of clocks, timers, process state and ambient randomness in the consensus core. */
function forbiddenGlobalUses(source: ts.SourceFile): Array<{ node: ts.Node; message: string }> {
  const found: Array<{ node: ts.Node; message: string }> = []
  const declared = new Set<string>()
  const uses: ts.Identifier[] = []
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node) && globalsBannedInRaft.has(node.text)) {
      if (bindingNameOf(node)) {
        declared.add(node.text)
        found.push({
          node,
          message: `declares '${node.text}', shadowing a global the consensus core must not use: rename it`,
        })
      } else if (!memberOrLabelName(node)) {
        uses.push(node)
      }
    }
    if (
      (ts.isPropertyAccessExpression(node) &&
        isMath(node.expression) &&
        node.name.text === 'random') ||
      (ts.isElementAccessExpression(node) &&
        isMath(node.expression) &&
        literalText(node.argumentExpression) === 'random')
    ) {
      found.push({ node, message: `uses Math.random: ${mathRandomReason}` })
    }
    if (
      ts.isVariableDeclaration(node) &&
      node.initializer !== undefined &&
      isMath(node.initializer) &&
      ts.isObjectBindingPattern(node.name) &&
      node.name.elements.some((e) => (e.propertyName ?? e.name).getText(source) === 'random')
    ) {
      found.push({ node, message: `uses Math.random: ${mathRandomReason}` })
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  for (const use of uses) {
    // A use of a name the file declares itself is already reported at its declaration.
    if (!declared.has(use.text)) {
      found.push({ node: use, message: `uses ${use.text}: ${globalsBannedInRaft.get(use.text)}` })
    }
  }
  return found
}

// ---------------------------------------------------------------------------------------------

/** Checks every wall of the design on the given files; returns what crosses one, in file order. */
export function checkWalls(files: readonly SourceText[]): Violation[] {
  const violations: Violation[] = []
  for (const file of files) {
    for (const script of scriptsOf(file)) {
      const source = ts.createSourceFile(
        file.path,
        script.text,
        ts.ScriptTarget.Latest,
        true,
        script.kind,
      )
      const report = (pos: number, message: string): void => {
        const line = source.getLineAndCharacterOfPosition(pos).line + 1 + script.lineOffset
        violations.push({ file: file.path, line, message })
      }
      for (const site of collectImports(source)) {
        if (site.specifier === null) {
          report(
            site.pos,
            'imports a computed specifier, which this test cannot check: use a string literal',
          )
        } else {
          for (const message of importViolations(file.path, site.specifier))
            report(site.pos, message)
        }
      }
      if (isUnder(file.path, RAFT)) {
        for (const { node, message } of forbiddenGlobalUses(source))
          report(node.getStart(source), message)
      }
    }
  }
  return violations.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line)
}
