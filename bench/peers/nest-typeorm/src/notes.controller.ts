import { Controller, Get, Param, ParseUUIDPipe, Res } from '@nestjs/common'
import type { Response } from 'express'
import { NotesService } from './notes.service'

@Controller('notes')
export class NotesController {
  constructor(private readonly notes: NotesService) {}

  @Get(':id')
  async findOne(@Param('id', ParseUUIDPipe) id: string, @Res({ passthrough: true }) res: Response) {
    const note = await this.notes.findOne(id)
    res.setHeader('etag', `"${note.version}"`)
    return {
      id: note.id,
      title: note.title,
      body: note.body,
      version: note.version,
      createdAt: note.createdAt.toISOString(),
      updatedAt: note.updatedAt.toISOString(),
    }
  }
}
