import { type MiddlewareConsumer, Module, type NestModule } from '@nestjs/common'
import { TypeOrmModule } from '@nestjs/typeorm'
import { Note } from './note.entity'
import { NotesController } from './notes.controller'
import { NotesService } from './notes.service'
import { RequestLogMiddleware } from './request-log.middleware'

@Module({
  imports: [
    TypeOrmModule.forRoot({
      type: 'postgres',
      url: process.env.DATABASE_URL,
      entities: [Note],
      // node-postgres pool size, the same as every other contender's.
      extra: { max: Number(process.env.DATABASE_POOL_MAX ?? 10) },
    }),
    TypeOrmModule.forFeature([Note]),
  ],
  controllers: [NotesController],
  providers: [NotesService],
})
export class AppModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(RequestLogMiddleware).forRoutes('*')
  }
}
