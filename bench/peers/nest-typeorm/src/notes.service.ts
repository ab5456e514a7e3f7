import { Injectable, NotFoundException } from '@nestjs/common'
import { InjectRepository } from '@nestjs/typeorm'
import type { Repository } from 'typeorm'
import { Note } from './note.entity'

@Injectable()
export class NotesService {
  constructor(@InjectRepository(Note) private readonly notes: Repository<Note>) {}

  async findOne(id: string): Promise<Note> {
    const note = await this.notes.findOneBy({ id })
    if (!note) throw new NotFoundException(`note ${id} not found`)
    return note
  }
}
