"""What the bots and the HTTP service need from an engine, local or remote.

`engine.recognizer.Recognizer` (model in this process) and `service.client.RemoteRecognizer`
(another machine's `/identify`) both satisfy it, so a deployment can move the model out of the
bot process without the bots noticing.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from engine.types import CardMatch, Identification


@runtime_checkable
class AsyncRecognizer(Protocol):
    async def identify_async(self, data: bytes) -> Identification:
        """Find and name every card in the image; raises `engine.errors.RecognizerError`."""
        ...

    async def lookup_async(self, query: str, limit: int = 5, set_code: str | None = None) -> list[CardMatch]:
        """Fuzzy card-name lookup in the catalog (like Scryfall's `[[name]]`), best first;
        with `set_code`, the best name's printings in that set (`[[name|SET]]`)."""
        ...

    async def card_async(self, card_id: str) -> CardMatch | None:
        """One gallery entry by `card_id` (to show an alternative the user picked)."""
        ...

    async def explain_async(self, data: bytes, card_id: str) -> bytes:
        """PNG of the photo's card tinted where it agrees with `card_id` (green) and where not
        (red), `engine.explain`; the bots' "Explain" button sends it."""
        ...

    def info(self) -> dict[str, Any]:
        """Model/index version and gallery size, for /health, /metrics and bot status."""
        ...
