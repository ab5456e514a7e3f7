import { t } from 'elysia'

export const Live = t.Object({ status: t.Literal('ok'), uptimeSeconds: t.Number() })
export const Ready = t.Object({ status: t.Literal('ready') })
