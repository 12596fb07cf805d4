# Threshold API and worker image (one image, two commands).
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY pyproject.toml README.md ./
COPY domain domain
COPY workflows workflows
COPY activities activities
COPY integrations integrations
COPY db db
COPY api api
COPY cli cli
COPY core core
COPY worker.py policy.yaml ./
# The sandbox re-executes workflow modules per run: ship their bytecode (PYTHONDONTWRITEBYTECODE).
RUN pip install --no-cache-dir . && python -m compileall -q /app && useradd --system --uid 10001 threshold
USER threshold
EXPOSE 8000
CMD ["uvicorn", "api.main:app", "--host", "0.0.0.0", "--port", "8000"]
