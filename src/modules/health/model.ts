import { Type } from '@sinclair/typebox'
import { t } from 'elysia'

export const Live = t.Object({
  status: t.Literal('ok'),
  uptimeSeconds: Type.Integer({ minimum: 0 }),
  release: t.String({ description: 'The build that answers (RELEASE, set by the deploy)' }),
})
export const Ready = t.Object({ status: t.Literal('ready') })
