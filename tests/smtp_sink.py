"""A real SMTP server for tests (aiosmtpd, in a thread, on a free loopback port).

It keeps every message whose DATA reached it and can misbehave on purpose: answer a given
status for the next N messages, hold each DATA for a while before answering (so a test can
kill the sender mid-batch), or hang up after DATA without answering (the sender cannot know
whether the message was delivered).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

ACCEPTED = "250 2.0.0 OK: queued"


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Received:
    """One DATA the sink got in full. ``answer`` is None while held, or when it never answered."""

    sender: str
    recipients: list[str]
    message: EmailMessage
    raw: bytes
    answer: str | None = None
    received_at: float = field(default_factory=time.monotonic)

    @property
    def rejected(self) -> bool:
        """Answered with a 4xx/5xx, so the sender knows it was not delivered."""
        return self.answer is not None and not self.answer.startswith("2")


class SmtpSink:
    """The SMTP server: ``start()``, point the mailer at ``host``/``port``, read ``received``."""

    def __init__(self) -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        self.received: list[Received] = []
        self.refused_recipients: list[tuple[str, str]] = []  # (address, answer) at RCPT
        self.delay = 0.0  # seconds each DATA is held before the answer
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._replies: list[str] = []  # answers for the next messages, in order
        self._drops = 0  # next messages hung up on after DATA
        self._drops_to: dict[str, int] = {}  # the same, for messages to one address
        self._rcpt_answers: dict[
            str, list[str]
        ] = {}  # address → answers to its next RCPTs
        self._controller = Controller(self, hostname=self.host, port=self.port)

    # --- control --------------------------------------------------------------------------
    def start(self) -> SmtpSink:
        self._controller.start()
        return self

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._controller.stop()

    def reply_next(self, count: int, answer: str) -> None:
        """Answer ``answer`` (e.g. "451 4.3.0 try later") to the next ``count`` messages."""
        with self._lock:
            self._replies.extend([answer] * count)

    def refuse_recipient(self, address: str, answer: str, count: int = 1) -> None:
        """Answer ``answer`` to the next ``count`` RCPT TO:<address> (e.g. greylisting)."""
        with self._lock:
            self._rcpt_answers.setdefault(address.lower(), []).extend([answer] * count)

    def drop_next(self, count: int = 1, *, to: str | None = None) -> None:
        """Hang up after receiving the next ``count`` messages' DATA (only those ``to`` an
        address, when given), without answering."""
        with self._lock:
            if to is None:
                self._drops += count
            else:
                key = to.lower()
                self._drops_to[key] = self._drops_to.get(key, 0) + count

    def reset(self) -> None:
        with self._lock:
            self.received.clear()
            self.refused_recipients.clear()
            self._replies.clear()
            self._drops = 0
            self._drops_to.clear()
            self._rcpt_answers.clear()
            self.delay = 0.0

    # --- reading --------------------------------------------------------------------------
    def messages(self) -> list[EmailMessage]:
        """Every message that may have been delivered: accepted, held, or hung up on."""
        with self._lock:
            return [r.message for r in self.received if not r.rejected]

    def deliveries(self) -> Counter[str]:
        """How many possibly delivered messages each recipient got."""
        with self._lock:
            return Counter(
                rcpt for r in self.received if not r.rejected for rcpt in r.recipients
            )

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Received]:
        """Block until at least ``count`` DATA commands arrived (any outcome)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"the SMTP sink got {len(self.received)} messages, expected {count}"
                    )
                self._changed.wait(left)
            return list(self.received)

    # --- aiosmtpd handler -----------------------------------------------------------------
    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        with self._lock:
            answers = self._rcpt_answers.get(address.lower())
            answer = answers.pop(0) if answers else None
            if answer is not None:
                self.refused_recipients.append((address, answer))
        if answer is not None:
            return answer
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        content = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            content = content.encode()
        record = Received(
            sender=str(envelope.mail_from),
            recipients=list(envelope.rcpt_tos),
            message=BytesParser(policy=policy.default).parsebytes(content),  # type: ignore[arg-type]
            raw=content,
        )
        with self._changed:
            self.received.append(record)
            delay = self.delay
            targeted = [
                r.lower() for r in record.recipients if self._drops_to.get(r.lower())
            ]
            drop = bool(targeted) or self._drops > 0
            if targeted:
                self._drops_to[targeted[0]] -= 1
            elif drop:
                self._drops -= 1
            answer = self._replies.pop(0) if (self._replies and not drop) else ACCEPTED
            self._changed.notify_all()
        if delay:
            # A killed sender closes the socket meanwhile; aiosmtpd then cancels this coroutine.
            await asyncio.sleep(delay)
        if drop:
            # Got the whole message, never say so: the sender cannot tell if it was delivered.
            if server.transport is not None:
                server.transport.abort()
            await asyncio.sleep(3600)  # cancelled by connection_lost
        with self._lock:
            record.answer = answer
        return answer
