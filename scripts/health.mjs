#!/usr/bin/env zx
// Checks /health/live and /health/ready of one or more base URLs and prints a table, with the days left on each
// HTTPS URL's certificate. Exit codes (for cron and CI): 0 every URL live and ready, 1 at least one is not, 2 bad usage.
import { lookup } from 'node:dns'
import { readFileSync } from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import { rootCertificates } from 'node:tls'
import { chalk } from 'zx'
import { scriptArgs } from './lib/args.mjs'

const HELP = `Usage: zx scripts/health.mjs [options] URL...

Checks GET URL/health/live and URL/health/ready for each base URL and prints one row per URL; for https URLs
the CERT column shows the days until the server's certificate expires.

Options:
  --wait                 keep checking until every URL passes or --deadline runs out (deploys use this)
  --deadline SECONDS     how long --wait keeps trying (default 60)
  --timeout SECONDS      per request (default 5)
  --retries N            extra attempts per request, with backoff from 250 ms (default 2)
  --expect-release SHA   also require /health/live to report this release
  --ca FILE              also trust the CA certificates in this PEM file (a private or test CA; or HEALTH_CA_FILE)
  --min-cert-days N      fail an https URL whose certificate expires in fewer than N days (default 0: only expired)
  --resolve NAME:ADDRESS connect to ADDRESS for NAME, still checking NAME's certificate: a server before its DNS
                         points at it (or HEALTH_RESOLVE)
  --quiet                print only failures
  --help                 this text

URLs may also come from HEALTH_URLS (comma separated).
Exit codes: 0 all live and ready, 1 some URL failed, 2 bad usage.

Example: zx scripts/health.mjs --wait --deadline 30 https://bakehouse.example.com`

const args = scriptArgs(import.meta.filename, {
  boolean: ['wait', 'quiet', 'help'],
  string: ['deadline', 'timeout', 'retries', 'expect-release', 'ca', 'min-cert-days', 'resolve'],
  unknown: (arg) => {
    if (arg.startsWith('-')) usage(`unknown option ${arg}`)
    return true
  },
})

function usage(problem) {
  console.error(`health: ${problem}\n\n${HELP}`)
  process.exit(2)
}

if (args.help) {
  console.log(HELP)
  process.exit(0)
}

/** A number option within [min, max] (whole if `integer`), or a usage error naming it; a bare flag is an error too. */
function numberOption(name, fallback, { min, max, integer = false }) {
  if (args[name] === undefined) return fallback
  const text = String(args[name]).trim()
  const value = Number(text)
  const kind = integer ? 'a whole number' : 'a number'
  if (
    text === '' ||
    !Number.isFinite(value) ||
    value < min ||
    value > max ||
    (integer && !Number.isInteger(value))
  )
    usage(`--${name}: expected ${kind} from ${min} to ${max}, got ${text === '' ? 'no value' : text}`)
  return value
}

const urls = [...args._.map(String), ...(process.env.HEALTH_URLS ?? '').split(',')]
  .map((url) => url.trim().replace(/\/+$/, ''))
  .filter(Boolean)
if (urls.length === 0) usage('expected at least one URL (or HEALTH_URLS), got none')
for (const url of urls) {
  if (!/^https?:\/\/[^/]/.test(url)) usage(`expected an http(s) URL, got ${url}`)
}

/** The system's roots plus those of --ca / HEALTH_CA_FILE, or undefined for the system's alone. */
function trustedCas() {
  const file = args.ca ?? process.env.HEALTH_CA_FILE
  if (file === undefined || file === '') return undefined
  const option = args.ca === undefined ? 'HEALTH_CA_FILE' : '--ca'
  let pem = ''
  try {
    pem = readFileSync(String(file), 'utf8')
  } catch (error) {
    usage(`${option}: expected a readable PEM file, got ${file} (${error.code ?? error.message})`)
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----'))
    usage(`${option}: expected PEM certificates in ${file}, got none`)
  return [...rootCertificates, pem]
}

/** --resolve / HEALTH_RESOLVE as a dns.lookup for the request options, or undefined. */
function pinnedLookup() {
  const value = args.resolve ?? process.env.HEALTH_RESOLVE
  if (value === undefined || value === '') return undefined
  const match = /^([A-Za-z0-9.-]+):([0-9.]+|\[[0-9A-Fa-f:]+\])$/.exec(String(value))
  if (!match) usage(`--resolve: expected NAME:ADDRESS such as app.example.com:203.0.113.7, got ${value}`)
  const [, name, bracketed] = match
  const address = bracketed.replace(/^\[|\]$/g, '')
  const family = address.includes(':') ? 6 : 4
  return (hostname, options, callback) => {
    if (hostname.toLowerCase() !== name.toLowerCase()) return lookup(hostname, options, callback)
    if (options?.all) callback(null, [{ address, family }])
    else callback(null, address, family)
  }
}

const settings = {
  wait: args.wait,
  deadline: numberOption('deadline', 60, { min: 0, max: 3600 }),
  timeoutMs: numberOption('timeout', 5, { min: 0.1, max: 300 }) * 1000,
  retries: numberOption('retries', 2, { min: 0, max: 10, integer: true }),
  release: args['expect-release'],
  ca: trustedCas(),
  lookup: pinnedLookup(),
  minCertDays: numberOption('min-cert-days', 0, { min: 0, max: 3650, integer: true }),
}

// C0 and C1 controls, DEL, and the bidi controls that reorder what a terminal shows.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is this pattern's job.
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g

/** What a server sent, made safe to print: no terminal escapes or reordering, at most `max` characters. */
function printable(value, max = 120) {
  const text = String(value).replace(UNPRINTABLE, '\uFFFD')
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}

// Certificate errors a private CA explains; the hint says how to trust it.
const UNTRUSTED = /SELF_SIGNED|UNABLE_TO_GET_ISSUER|UNABLE_TO_VERIFY_LEAF/

/**
 * One GET with node:http(s) rather than fetch, whose Node build takes no CA option and shows no certificate:
 * the status, the body and, over TLS, the certificate's expiry.
 */
function get(url) {
  return new Promise((resolve, reject) => {
    const client = url.startsWith('https:') ? https : http
    const options = {
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(settings.timeoutMs),
      // A fresh connection each time, so every probe sees the certificate the server serves now.
      agent: false,
      ...(settings.ca && { ca: settings.ca }),
      ...(settings.lookup && { lookup: settings.lookup }),
    }
    const request = client.get(url, options, (response) => {
      const validTo = response.socket.getPeerCertificate?.()?.valid_to
      let text = ''
      response.setEncoding('utf8')
      response.on('data', (chunk) => {
        text += chunk
      })
      response.on('end', () => resolve({ status: response.statusCode, text, validTo }))
      response.on('error', reject)
    })
    request.on('error', reject)
  })
}

/** One GET with a timeout; retried with exponential backoff on network errors and 5xx. */
async function probe(url) {
  const start = performance.now()
  let last = { ok: false, status: 0, detail: 'not tried', body: undefined }
  for (let attempt = 0, delay = 250; attempt <= settings.retries; attempt++, delay *= 2) {
    try {
      const response = await get(url)
      let body
      try {
        body = JSON.parse(response.text)
      } catch {
        body = undefined
      }
      const ok = response.status >= 200 && response.status < 300
      last = {
        ok,
        status: response.status,
        detail: ok ? '' : printable(body?.detail ?? response.text, 80),
        body,
        validTo: response.validTo,
      }
      if (response.status < 500) break
    } catch (error) {
      const code = error.name === 'AbortError' ? `timed out after ${settings.timeoutMs / 1000} s` : error.code
      const hint = UNTRUSTED.test(code ?? '') ? ' (a private CA? pass --ca FILE)' : ''
      last = {
        ok: false,
        status: 0,
        detail: printable(`${code ?? error.message}${hint}`, 80),
        body: undefined,
      }
    }
    if (attempt < settings.retries) await new Promise((resolve) => setTimeout(resolve, delay))
  }
  return { ...last, ms: Math.round(performance.now() - start) }
}

async function check(url) {
  const [live, ready] = await Promise.all([probe(`${url}/health/live`), probe(`${url}/health/ready`)])
  const release = printable(live.body?.release ?? '-', 40)
  const problems = []
  if (!live.ok) problems.push(`live: ${live.status || live.detail}`)
  if (!ready.ok)
    problems.push(`ready: ${ready.status || 'no answer'}${ready.detail ? ` (${ready.detail})` : ''}`)
  if (settings.release && live.ok && release !== settings.release)
    problems.push(`release: expected ${settings.release}, got ${release}`)
  // Whole days left, rounded down: "0" is the last day.
  const certDays = live.validTo ? Math.floor((Date.parse(live.validTo) - Date.now()) / 86_400_000) : undefined
  if (certDays !== undefined && certDays < settings.minCertDays)
    problems.push(
      `cert: expires in ${certDays} days, expected at least ${settings.minCertDays} (--min-cert-days)`,
    )
  return { url, live, ready, release, certDays, ok: problems.length === 0, problems }
}

function table(rows) {
  const lines = [
    ['URL', 'LIVE', 'READY', 'RELEASE', 'CERT', 'MS', 'PROBLEM'],
    ...rows.map((row) => [
      row.url,
      String(row.live.status || '-'),
      String(row.ready.status || '-'),
      row.release,
      row.certDays === undefined ? '-' : `${row.certDays}d`,
      String(Math.max(row.live.ms, row.ready.ms)),
      row.problems.join('; '),
    ]),
  ]
  const widths = lines[0].map((_, column) => Math.max(...lines.map((line) => line[column].length)))
  return lines
    .map((line, index) => {
      const text = line
        .map((cell, column) => cell.padEnd(widths[column]))
        .join('  ')
        .trimEnd()
      if (index === 0) return chalk.bold(text)
      return rows[index - 1].ok ? text : chalk.red(text)
    })
    .join('\n')
}

const started = performance.now()
let rows
for (let round = 1; ; round++) {
  rows = await Promise.all(urls.map(check))
  const done = rows.every((row) => row.ok)
  const elapsed = (performance.now() - started) / 1000
  if (done || !settings.wait || elapsed >= settings.deadline) break
  if (round === 1 || round % 10 === 0) {
    const failing = rows.filter((row) => !row.ok).map((row) => `${row.url} (${row.problems.join('; ')})`)
    console.error(`health: waiting (${elapsed.toFixed(0)}/${settings.deadline} s): ${failing.join(', ')}`)
  }
  await new Promise((resolve) => setTimeout(resolve, 500))
}

const failed = rows.filter((row) => !row.ok)
if (!args.quiet || failed.length > 0) console.log(table(args.quiet ? failed : rows))
if (failed.length > 0) {
  console.error(
    `health: ${failed.length} of ${rows.length} URL(s) not healthy${settings.wait ? ` after ${settings.deadline} s` : ''}; ` +
      'check `zx scripts/deploy.mjs --logs` or the server, then run this again.',
  )
  process.exit(1)
}
