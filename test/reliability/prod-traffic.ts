import { connect } from 'node:net'
import { base, port, psql } from './prod-stack'

// Write traffic against the prod stack: inserts sent through a fault, and requests held in flight.

/** Sends `total` inserts with `concurrency` workers, calling `fault` once `faultAfter` were acknowledged. */
export async function insertsThrough(
  label: string,
  total: number,
  faultAfter: number,
  fault: () => Promise<void>,
) {
  const acknowledged = new Map<string, string>()
  let next = 0
  let faulted: Promise<void> | undefined
  let unacknowledged = 0
  let ackedAfterFault = 0
  let faultAt = 0
  let firstAckAfterFaultMs: number | undefined
  const refusals: Record<string, number> = {}
  const worker = async () => {
    while (next < total) {
      const title = `${label}-${next++}`
      const ok = await fetch(`${base}/notes`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ title }),
        signal: AbortSignal.timeout(5_000),
      }).then(
        async (r) => {
          if (r.status === 201) return ((await r.json()) as { id: string }).id
          const key = `${r.status} ${r.headers.get('content-type')}`
          refusals[key] = (refusals[key] ?? 0) + 1
          return undefined
        },
        () => {
          refusals['no response'] = (refusals['no response'] ?? 0) + 1
          return undefined
        },
      )
      if (ok) {
        acknowledged.set(title, ok)
        if (faulted) {
          ackedAfterFault++
          firstAckAfterFaultMs ??= Math.round(performance.now() - faultAt)
        }
        if (!faulted && acknowledged.size >= faultAfter) {
          faultAt = performance.now()
          faulted = fault()
        }
      } else {
        unacknowledged++
        // Each title is sent once: a request whose outcome is unknown is never retried, so a duplicate is a bug.
        await Bun.sleep(200)
      }
    }
  }
  await Promise.all(Array.from({ length: 8 }, worker))
  await faulted
  return { acknowledged, unacknowledged, ackedAfterFault, firstAckAfterFaultMs, refusals }
}

export async function verifyDurability(label: string, result: Awaited<ReturnType<typeof insertsThrough>>) {
  const rows = (await psql(`select title || '|' || id from notes where title like '${label}-%'`))
    .trim()
    .split('\n')
    .filter(Boolean)
  const stored = new Map<string, string[]>()
  for (const row of rows) {
    const [title, id] = row.split('|') as [string, string]
    stored.set(title, [...(stored.get(title) ?? []), id])
  }
  const lost = [...result.acknowledged].filter(([title, id]) => !stored.get(title)?.includes(id))
  const duplicates = [...stored].filter(([, ids]) => ids.length > 1)
  return { lost, duplicates, stored: rows.length }
}

/** A raw HTTP/1.1 POST whose body is sent in two parts, so it stays in flight until `finish`. */
export function slowPost(body: string) {
  const socket = connect(port, '127.0.0.1')
  let received = ''
  socket.on('data', (chunk) => {
    received += chunk.toString()
  })
  socket.on('error', () => {})
  const closed = new Promise<string>((resolve) => socket.on('close', () => resolve(received)))
  const half = Math.floor(body.length / 2)
  socket.write(
    `POST /notes HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body.slice(0, half)}`,
  )
  return { finish: () => socket.write(body.slice(half)), response: closed }
}
