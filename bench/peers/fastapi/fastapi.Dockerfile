# The stack we replace, as a seed project ships it: FastAPI + SQLAlchemy + psycopg2 under uvicorn, on a slim
# Debian base. Debian's packages stand in for pip installs on python:3-slim (no registry but Debian's here).
FROM debian:bookworm-slim
# uvloop and httptools are what `uvicorn[standard]` (the template's choice) adds for speed.
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3-fastapi python3-uvicorn python3-uvloop python3-httptools \
       python3-sqlalchemy python3-psycopg2 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY app.py ./
USER 65532:65532
EXPOSE 8000
# One process, like every other server in the comparison (uvicorn starts one worker by default).
CMD ["python3", "-m", "uvicorn", "app:app", "--host", "127.0.0.1", "--port", "8000"]
