import 'reflect-metadata'
import { NestFactory } from '@nestjs/core'
import { AppModule } from './app.module'

// GET /notes/:id as a NestJS 12 + TypeORM service on Node, the stack `nest new` and the TypeORM recipe give.
async function bootstrap(): Promise<void> {
  const port = Number(process.env.PORT ?? 3000)
  // Nest's own logger prints plain-text start-up lines; the access log is the middleware's JSON.
  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] })
  await app.listen(port, '127.0.0.1')
  console.log(JSON.stringify({ level: 'info', msg: 'listening', port }))
}
void bootstrap()
