"""OTLP/HTTP trace requests decoded (protobuf or JSON, gzip or not) into `OtlpSpan`s.

Per the OTLP/HTTP specification: `application/x-protobuf` bodies are an
`ExportTraceServiceRequest`; `application/json` bodies are its protobuf JSON mapping with
trace and span ids as hex strings, unknown fields ignored; `Content-Encoding: gzip` is
inflated up to the same byte limit as any body.
"""

from __future__ import annotations

import base64
import json
import zlib
from datetime import UTC, datetime
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from domain.errors import InvalidInput, Problem
from domain.otlp import OtlpSpan

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
MEDIA_TYPES = (PROTOBUF, JSON)
_ID_FIELDS = ("traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id")


def _bad(message: str, field: str = "(body)") -> InvalidInput:
    return InvalidInput(message, [Problem(field, message)])


def inflate(body: bytes, encoding: str | None, limit: int) -> bytes:
    """The body without its `Content-Encoding` (gzip or identity), at most `limit` bytes."""
    name = (encoding or "identity").strip().lower()
    if name == "identity":
        return body
    if name != "gzip":
        raise _bad(f"Content-Encoding {name!r} is not supported: send gzip or none", "(headers)")
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error:
        raise _bad(
            "the body is not valid gzip: compress it whole or drop Content-Encoding"
        ) from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise _bad(f"the inflated body is larger than {limit} bytes: export smaller batches")
    return out


def _hex_ids_to_base64(node: Any) -> Any:
    """OTLP JSON carries ids as hex; the protobuf JSON mapping wants base64 bytes."""
    if isinstance(node, list):
        return [_hex_ids_to_base64(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _ID_FIELDS and isinstance(value, str):
            try:
                value = base64.b64encode(bytes.fromhex(value)).decode()
            except ValueError:
                raise _bad(
                    f"{key} {value[:40]!r} is not hex: send ids as hex strings", key
                ) from None
        out[key] = _hex_ids_to_base64(value)
    return out


def parse_request(body: bytes, media: str) -> ExportTraceServiceRequest:
    """The export request in `body`, encoded as `media` says; a 4xx naming what is wrong."""
    request = ExportTraceServiceRequest()
    if media == PROTOBUF:
        try:
            request.ParseFromString(body)
        except DecodeError:
            raise _bad("the body is not an OTLP ExportTraceServiceRequest in protobuf") from None
        return request
    try:
        document = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise _bad("the body is not JSON: send an OTLP ExportTraceServiceRequest") from None
    if not isinstance(document, dict):
        raise _bad("the body must be a JSON object with resourceSpans")
    try:
        json_format.ParseDict(_hex_ids_to_base64(document), request, ignore_unknown_fields=True)
    except json_format.ParseError as exc:
        raise _bad(f"not an OTLP ExportTraceServiceRequest: {str(exc)[:200]}") from None
    return request


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return _attributes(value.kvlist_value.values)
    if kind == "bytes_value":
        return value.bytes_value.hex()
    return getattr(value, kind)


def _attributes(pairs: Any) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for pair in pairs:
        assert isinstance(pair, KeyValue)
        kept[pair.key] = _value(pair.value)
    return kept


def request_spans(request: ExportTraceServiceRequest) -> list[OtlpSpan]:
    """Every span of the request with its resource's attributes."""
    spans: list[OtlpSpan] = []
    for resource_spans in request.resource_spans:
        resource = _attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                nanos = span.start_time_unix_nano
                spans.append(
                    OtlpSpan(
                        trace_id=span.trace_id.hex() or "0" * 32,
                        span_id=span.span_id.hex() or "0" * 16,
                        name=span.name,
                        start=datetime.fromtimestamp(nanos / 1e9, UTC),
                        attributes=_attributes(span.attributes),
                        resource=resource,
                    )
                )
    return spans


def export_response(rejected: int, message: str, media: str) -> bytes:
    """An `ExportTraceServiceResponse` (with `partial_success` when anything is said)."""
    response = ExportTraceServiceResponse()
    if rejected or message:
        response.partial_success.rejected_spans = rejected
        response.partial_success.error_message = message
    if media == PROTOBUF:
        return response.SerializeToString()
    return json_format.MessageToJson(response, indent=None).encode()


def status_body(code: int, message: str, media: str) -> bytes:
    """A `google.rpc.Status` for a refused export (the OTLP/HTTP error body)."""
    status = Status(code=code, message=message)
    if media == PROTOBUF:
        data: bytes = status.SerializeToString()
        return data
    text: str = json_format.MessageToJson(status, indent=None)
    return text.encode()
