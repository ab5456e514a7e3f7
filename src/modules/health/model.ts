import { Type } from '@sinclair/typebox'
import { t } from 'elysia'

// Closed like every response shape (see notes/model.ts), so the document never changes after the first request.
export const Live = t.Object(
  {
    status: t.Literal('ok'),
    uptimeSeconds: Type.Integer({ minimum: 0 }),
    release: t.String({ description: 'The build that answers (RELEASE, set by the deploy)' }),
  },
  { additionalProperties: false },
)
export const Ready = t.Object({ status: t.Literal('ready') }, { additionalProperties: false })
