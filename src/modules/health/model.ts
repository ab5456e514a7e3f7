import { t } from 'elysia'

export const Live = t.Object({ status: t.Literal('ok'), uptimeSeconds: t.Number(), release: t.String() })
export const Ready = t.Object({ status: t.Literal('ready') })
