"""GET /notes/{id} the way the FastAPI template does it: SQLAlchemy ORM session per request, a pydantic response model."""
import os
import uuid
from datetime import datetime

from fastapi import Depends, FastAPI, HTTPException, Response
from pydantic import BaseModel
from sqlalchemy import Column, DateTime, Integer, String, Text, create_engine
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Session, declarative_base, sessionmaker

engine = create_engine(
    os.environ["DATABASE_URL"].replace("postgres://", "postgresql+psycopg2://", 1),
    pool_size=int(os.environ.get("DATABASE_POOL_MAX", "10")),
    pool_pre_ping=False,
)
SessionLocal = sessionmaker(bind=engine, autoflush=False)
Base = declarative_base()


class Note(Base):
    __tablename__ = "notes"
    id = Column(UUID(as_uuid=True), primary_key=True)
    title = Column(String(200), nullable=False)
    body = Column(Text, nullable=False)
    version = Column(Integer, nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False)
    updated_at = Column(DateTime(timezone=True), nullable=False)


class NotePublic(BaseModel):
    id: uuid.UUID
    title: str
    body: str
    version: int
    createdAt: datetime
    updatedAt: datetime


def get_session():
    with SessionLocal() as session:
        yield session


app = FastAPI()


@app.get("/notes/{note_id}", response_model=NotePublic)
def get_note(note_id: uuid.UUID, response: Response, session: Session = Depends(get_session)):
    note = session.get(Note, note_id)
    if note is None:
        raise HTTPException(status_code=404, detail="note not found")
    response.headers["etag"] = f'"{note.version}"'
    return NotePublic(
        id=note.id,
        title=note.title,
        body=note.body,
        version=note.version,
        createdAt=note.created_at,
        updatedAt=note.updated_at,
    )
