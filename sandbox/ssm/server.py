"""The sandbox's HTTP server: uvicorn's h11 protocol, answering as a front server does.

uvicorn answers a request head that is too long, or that h11 cannot read, with a bare 400 and
closes the socket at once; the client, still sending its long URL, then sees the connection
reset instead of an answer. And a connection that never finishes its request head is kept for
ever. `SandboxProtocol` keeps h11's own head limit (`h11_max_incomplete_event_size`, which
uvicorn passes on) and changes what happens around it:

* a head longer than the limit is answered 414 URI Too Long when the request line alone does
  not fit, else 431 Request Header Fields Too Large; any other unreadable head 400. The limit is
  also applied to a head that arrived whole in one read, which h11 lets through;
* after such an answer the server stops sending (half-close) and reads and discards what the
  client still sends, until it closes or the read timeout passes, so the client gets to read the
  answer (a "lingering close");
* a request head not complete within the read timeout closes the connection, and so does the
  rest of a body the app answered without reading (a body the app reads and that does not
  arrive is answered 408 by the app: see `app.read_within`).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import h11
from h11._connection import DEFAULT_MAX_INCOMPLETE_EVENT_SIZE
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

DEFAULT_MAX_HEAD_BYTES = DEFAULT_MAX_INCOMPLETE_EVENT_SIZE  # h11's 16 KiB
BAD_REQUEST, URI_TOO_LONG, HEADERS_TOO_LARGE = 400, 414, 431
# RFC 9110's names (Python 3.11 still calls 414 "Request-URI Too Long").
REASONS = {
    BAD_REQUEST: "Bad Request",
    URI_TOO_LONG: "URI Too Long",
    HEADERS_TOO_LARGE: "Request Header Fields Too Large",
}


class HeadLimitedConnection(h11.Connection):
    """h11's server connection, remembering the status a refused request head deserves."""

    def __init__(self, max_head_bytes: int) -> None:
        super().__init__(h11.SERVER, max_incomplete_event_size=max_head_bytes)
        self.max_head_bytes = max_head_bytes
        self.refusal = BAD_REQUEST

    def next_event(self) -> Any:
        try:
            event = super().next_event()
        except h11.RemoteProtocolError as exc:
            self.refusal = self._status_for(exc)
            raise
        if isinstance(event, h11.Request):
            too_long = self._head_too_long(event)
            if too_long is not None:
                self.refusal = too_long
                raise h11.RemoteProtocolError(REASONS[too_long], error_status_hint=too_long)
        return event

    def _status_for(self, exc: h11.RemoteProtocolError) -> int:
        if exc.error_status_hint != HEADERS_TOO_LARGE:  # h11's hint for an overlong head
            return BAD_REQUEST
        pending, _ = self.trailing_data
        # No line end yet: the request line alone is longer than the whole head may be.
        return URI_TOO_LONG if b"\n" not in pending else HEADERS_TOO_LARGE

    def _head_too_long(self, request: h11.Request) -> int | None:
        line = len(request.method) + len(request.target) + len(b"  HTTP/1.1\r\n")
        if line > self.max_head_bytes:
            return URI_TOO_LONG
        fields = sum(len(name) + len(value) + 4 for name, value in request.headers.raw_items())
        return HEADERS_TOO_LARGE if line + fields > self.max_head_bytes else None


class SandboxProtocol(H11Protocol):
    """uvicorn's h11 protocol with 414/431 answers, a lingering close and a read timeout."""

    read_timeout = 5.0  # set by `protocol_with`

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.conn = HeadLimitedConnection(
            config.h11_max_incomplete_event_size or DEFAULT_MAX_HEAD_BYTES
        )
        self.lingering = False
        self.read_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._watch_reads()

    def data_received(self, data: bytes) -> None:
        if self.lingering:
            return  # read only so the client can finish sending and then read our answer
        super().data_received(data)
        self._watch_reads()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_read_timer()
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        if self.conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            self.transport.close()  # an answer is already under way: nothing more can be said
            return
        if self.cycle is not None and not self.cycle.response_complete:
            # A request whose body turned unreadable: its app sees a disconnect, not a hang.
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        status = self.conn.refusal
        body = json.dumps({"statusCode": status, "message": REASONS[status]}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        response = h11.Response(status_code=status, headers=headers, reason=REASONS[status])
        for event in (response, h11.Data(data=body), h11.EndOfMessage()):
            self.transport.write(self.conn.send(event))
        self._linger()

    def _linger(self) -> None:
        """Half-close and drain: closing with unread input would reset the connection (RST)
        before the client reads the answer."""
        self.lingering = True
        self._stop_read_timer()
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.transport.resume_reading()
        self.loop.call_later(self.read_timeout, self.transport.close)

    def _watch_reads(self) -> None:
        """Time what the client still owes, from its first byte (or the connection) on."""
        if self.transport.is_closing() or not self._client_owes_bytes():
            self._stop_read_timer()
        elif self.read_timer is None:
            self.read_timer = self.loop.call_later(self.read_timeout, self._read_timed_out)

    def _client_owes_bytes(self) -> bool:
        """A request head not yet whole, or the rest of a body the app answered without."""
        state = self.conn.their_state
        answered = self.cycle is not None and self.cycle.response_complete
        return state is h11.IDLE or (state is h11.SEND_BODY and answered)

    def _read_timed_out(self) -> None:
        self.read_timer = None
        if self._client_owes_bytes():
            self.transport.close()

    def _stop_read_timer(self) -> None:
        if self.read_timer is not None:
            self.read_timer.cancel()
            self.read_timer = None


def protocol_with(read_timeout: float) -> type[SandboxProtocol]:
    """The protocol class for uvicorn's `http=`, with this read timeout."""
    return type("SandboxProtocol", (SandboxProtocol,), {"read_timeout": read_timeout})
