import type { LogLevel } from './config'

const SEVERITY: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 }

export type Fields = Record<string, unknown>

export interface Logger {
  debug(msg: string, fields?: Fields): void
  info(msg: string, fields?: Fields): void
  warn(msg: string, fields?: Fields): void
  error(msg: string, fields?: Fields): void
}

/** One JSON object per line on stdout, so any log shipper can parse it without configuration. */
export function createLogger(level: LogLevel, write: (line: string) => void = console.log): Logger {
  const threshold = SEVERITY[level]
  const emit = (lvl: LogLevel) => (msg: string, fields?: Fields) => {
    if (SEVERITY[lvl] < threshold) return
    write(JSON.stringify({ time: new Date().toISOString(), level: lvl, msg, ...fields }))
  }
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') }
}
