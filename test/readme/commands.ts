// The README's shell commands, as a reader would copy them: every line of every ```sh/bash/shell block, in order.

export interface Block {
  /** 1-based line of the opening fence, to name the block in reports. */
  line: number
  commands: string[]
}

const SHELL_FENCE = /^```(sh|bash|shell|console)\s*$/

/** Fenced shell blocks and their commands; a trailing backslash joins the next line, as in a shell. */
export function shellBlocks(markdown: string): Block[] {
  const blocks: Block[] = []
  let current: Block | undefined
  let pending = ''
  for (const [index, line] of markdown.split('\n').entries()) {
    if (!current) {
      if (SHELL_FENCE.test(line.trim())) current = { line: index + 1, commands: [] }
      continue
    }
    if (line.trim() === '```') {
      blocks.push(current)
      current = undefined
      continue
    }
    const text = pending + line.replace(/^\$ /, '')
    if (text.endsWith('\\')) {
      pending = `${text.slice(0, -1)} `
      continue
    }
    pending = ''
    if (text.trim() && !text.trim().startsWith('#')) current.commands.push(text.trim())
  }
  return blocks
}

/** A command that keeps serving until stopped, and how to tell it serves. */
export interface Server {
  pattern: RegExp
  /** Path that answers 200 on the API port once it serves. */
  ready: string
}

/** Foreground servers in the README: run until they serve, then stopped with Ctrl-C (SIGINT) as a reader would. */
export const SERVERS: Server[] = [
  { pattern: /\bbun run dev\b/, ready: '/health/ready' },
  // `docker compose up` in the foreground: no -d/--detach (and so no --wait).
  { pattern: /\bdocker compose up\b(?![^#]*(\s-d\b|--detach|--wait))/, ready: '/health/ready' },
]

/** Commands CI does not run, each with the reason; an entry that matches no README command fails the suite. */
export const SKIPS: { pattern: RegExp; reason: string }[] = [
  {
    pattern: /--push\b/,
    reason: 'pushes to a registry, and CI reaches none; GitHub Actions pushes `release` to a throwaway one',
  },
  {
    pattern: /\bexport DEPLOY_DOMAIN=/,
    reason:
      "asks Let's Encrypt for a certificate, which CI cannot reach; test/deploy/https.test.ts gets one from Pebble",
  },
  {
    pattern: /\bdeploy -- --rollback\b/,
    reason: 'needs an earlier release on the server; the deploy suite rolls back between two real releases',
  },
  {
    pattern: /\bdeploy -- --mode swarm\b/,
    reason: 'needs the engine in swarm mode; the deploy suite switches it and deploys a stack',
  },
]

/**
 * Commands a reader runs in another project (a client of the API), so here they run in an empty directory, where
 * this repository's own dependencies cannot change what they resolve; `document` stands for the served document.
 */
export const ELSEWHERE: { pattern: RegExp; reason: string }[] = [
  { pattern: /\bopenapi-typescript\b/, reason: "generates a client's types in the client's project" },
]

/**
 * Example values in the README and what stands in for them here, so commands run as written against local things:
 * the example server is a local sshd, its URL the local proxy, /etc a throwaway directory, port 3000 a free one.
 */
export function placeholders(local: {
  sshHost: string
  proxyUrl: string
  etc: string
  apiPort: number
}): [RegExp, string][] {
  return [
    [/deploy@app\.example\.com/g, local.sshHost],
    [/https:\/\/app\.example\.com/g, local.proxyUrl],
    [/\/etc\/bakehouse/g, `${local.etc}/bakehouse`],
    [/\b(localhost|127\.0\.0\.1):3000\b/g, `127.0.0.1:${local.apiPort}`],
  ]
}

/** The command without its trailing `# comment`, for matching against the lists above. */
export const withoutComment = (command: string) => command.replace(/\s+#.*$/, '')

export function substitute(command: string, pairs: [RegExp, string][]): string {
  return pairs.reduce((text, [pattern, value]) => text.replace(pattern, value), command)
}
