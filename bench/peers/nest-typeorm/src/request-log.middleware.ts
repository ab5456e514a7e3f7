import { randomUUID } from 'node:crypto'
import { Injectable, type NestMiddleware } from '@nestjs/common'
import type { NextFunction, Request, Response } from 'express'

const REQUEST_ID = /^[\w.:@-]{1,128}$/

// The per-request work every peer does: a validated or fresh X-Request-Id and one JSON access-log line on stdout.
@Injectable()
export class RequestLogMiddleware implements NestMiddleware {
  use(req: Request, res: Response, next: NextFunction): void {
    const started = performance.now()
    const incoming = req.header('x-request-id')
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID()
    res.setHeader('x-request-id', requestId)
    res.on('finish', () =>
      console.log(
        JSON.stringify({
          time: new Date().toISOString(),
          level: 'info',
          msg: 'request',
          method: req.method,
          path: req.path,
          status: res.statusCode,
          durationMs: Math.round((performance.now() - started) * 100) / 100,
          requestId,
        }),
      ),
    )
    next()
  }
}
