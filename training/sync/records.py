"""Scryfall card objects → validated cards with one gallery image per face.

Bulk files are large and come from outside, so every record is checked before anything is
written: a malformed one is rejected with a reason the log can show, never half-used. The
gallery needs one image per *printed face*: cards whose faces are printed on two sides
(transform, modal_dfc, double-faced tokens, reversible cards…) carry ``card_faces[].image_uris``
and get one entry per face; split, flip, adventure and similar one-sided layouts carry a single
top-level ``image_uris`` and get one entry.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from training.sync.settings import SyncSettings

TOKEN_LAYOUTS = frozenset({"token", "double_faced_token", "emblem"})
#: ``image_status`` values whose image is not a real scan of the card.
UNUSABLE_IMAGE_STATUSES = frozenset({"missing", "placeholder"})
MAX_FACES = 8


class RecordError(ValueError):
    """A bulk record is malformed; the message says which field and why."""


@dataclass(frozen=True)
class Rules:
    """What a reply's "Details" shows of one printed face: type line, mana cost, rules text."""

    type_line: str = ""
    mana_cost: str = ""
    oracle_text: str = ""


@dataclass(frozen=True)
class FaceImage:
    face: int
    name: str
    oracle_id: str | None
    illustration_id: str | None
    image_uri: str
    rules: Rules = Rules()


@dataclass(frozen=True)
class Card:
    id: str
    oracle_id: str | None
    illustration_id: str | None
    name: str
    set: str
    set_name: str
    set_type: str
    collector_number: str
    rarity: str
    lang: str
    layout: str
    variant: str
    released_at: str
    scryfall_uri: str
    digital: bool
    image_status: str
    prices: dict[str, Any] = field(default_factory=dict)
    legalities: dict[str, Any] = field(default_factory=dict)
    faces: tuple[FaceImage, ...] = ()


def canonical_uuid(value: object, what: str) -> str:
    """The lower-case hyphenated form of a UUID; anything else (paths, junk) is rejected."""
    if not isinstance(value, str):
        raise RecordError(f"{what} is {type(value).__name__}, not a UUID string")
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        raise RecordError(f"{what} {value[:60]!r} is not a UUID") from None
    if str(parsed) != value.lower():
        raise RecordError(f"{what} {value[:60]!r} is not in canonical UUID form")
    return str(parsed)


def _text(raw: dict[str, Any], key: str, *, required: bool = True) -> str:
    value = raw.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise RecordError(f"field {key!r} is missing or not a non-empty string")
    return value


def _optional_uuid(raw: dict[str, Any], key: str) -> str | None:
    value = raw.get(key)
    return None if value is None else canonical_uuid(value, key)


def _image_uri(image_uris: object, size: str, where: str) -> str:
    if not isinstance(image_uris, dict):
        raise RecordError(f"{where} is not an object")
    uri = image_uris.get(size)
    if not isinstance(uri, str) or not uri.startswith(("https://", "http://")):
        raise RecordError(f"{where}.{size} is missing or not an http(s) URL")
    return uri


def _rules(raw: dict[str, Any]) -> Rules:
    """The object's own text; a one-image card with several faces (split, adventure, flip)
    keeps its text on the faces, joined here the way Scryfall prints them, with "//"."""
    fields = {k: _text(raw, k, required=False) for k in ("type_line", "mana_cost", "oracle_text")}
    faces = raw.get("card_faces")
    if not fields["oracle_text"] and isinstance(faces, list):
        parts = [_rules(f) for f in faces if isinstance(f, dict)]
        fields["oracle_text"] = "\n//\n".join(p.oracle_text for p in parts if p.oracle_text)
        fields["mana_cost"] = fields["mana_cost"] or " // ".join(p.mana_cost for p in parts if p.mana_cost)
    return Rules(**fields)


def _faces(raw: dict[str, Any], size: str) -> tuple[FaceImage, ...]:
    name = _text(raw, "name")
    oracle_id = _optional_uuid(raw, "oracle_id")
    illustration_id = _optional_uuid(raw, "illustration_id")
    if raw.get("image_uris") is not None:
        uri = _image_uri(raw["image_uris"], size, "image_uris")
        return (FaceImage(0, name, oracle_id, illustration_id, uri, _rules(raw)),)
    card_faces = raw.get("card_faces")
    if card_faces is None:
        return ()
    if not isinstance(card_faces, list) or len(card_faces) > MAX_FACES:
        raise RecordError(f"card_faces is not a list of at most {MAX_FACES} faces")
    faces = []
    for index, face in enumerate(card_faces):
        if not isinstance(face, dict):
            raise RecordError(f"card_faces[{index}] is not an object")
        if face.get("image_uris") is None:
            continue
        faces.append(
            FaceImage(
                face=index,
                name=_text(face, "name"),
                # Reversible cards carry their oracle ids on the faces only.
                oracle_id=_optional_uuid(face, "oracle_id") or oracle_id,
                illustration_id=_optional_uuid(face, "illustration_id"),
                image_uri=_image_uri(face["image_uris"], size, f"card_faces[{index}].image_uris"),
                rules=_rules(face),
            )
        )
    return tuple(faces)


def variant_of(raw: dict[str, Any]) -> str:
    """The printing's treatment, named as in the project's reference data (shared cards.jsonl)."""
    effects = raw.get("frame_effects")
    effects = set(effects) if isinstance(effects, list) else set()
    if raw.get("digital") is True:
        return "digital"
    if raw.get("border_color") == "borderless":
        return "borderless"
    if "showcase" in effects:
        return "showcase"
    if "extendedart" in effects:
        return "extended"
    if raw.get("full_art") is True:
        return "fullart"
    if raw.get("promo") is True:
        return "promo"
    return "normal"


def _object(raw: dict[str, Any], key: str) -> dict[str, Any]:
    value = raw.get(key) or {}
    if not isinstance(value, dict):
        raise RecordError(f"field {key!r} is not an object")
    return value


def parse_card(raw: object, image_size: str) -> Card:
    """Validate one bulk record; raise `RecordError` naming the first problem found."""
    if not isinstance(raw, dict):
        raise RecordError(f"record is {type(raw).__name__}, not a JSON object")
    if raw.get("object", "card") != "card":
        raise RecordError(f"record is a {raw.get('object')!r} object, not a card")
    card_id = canonical_uuid(raw.get("id"), "id")
    digital = raw.get("digital", False)
    if not isinstance(digital, bool):
        raise RecordError("field 'digital' is not a boolean")
    return Card(
        id=card_id,
        oracle_id=_optional_uuid(raw, "oracle_id"),
        illustration_id=_optional_uuid(raw, "illustration_id"),
        name=_text(raw, "name"),
        set=_text(raw, "set").lower(),
        set_name=_text(raw, "set_name"),
        set_type=_text(raw, "set_type", required=False),
        collector_number=_text(raw, "collector_number"),
        rarity=_text(raw, "rarity"),
        lang=_text(raw, "lang").lower(),
        layout=_text(raw, "layout"),
        variant=variant_of(raw),
        released_at=_text(raw, "released_at", required=False),
        scryfall_uri=_text(raw, "scryfall_uri"),
        digital=digital,
        image_status=_text(raw, "image_status", required=False),
        prices=_object(raw, "prices"),
        legalities=_object(raw, "legalities"),
        faces=_faces(raw, image_size),
    )


def exclusion_reason(card: Card, settings: SyncSettings) -> str | None:
    """Why the configured filters keep `card` out of the gallery, or None when it belongs."""
    if settings.languages and card.lang not in settings.languages:
        return "language"
    if settings.sets and card.set not in settings.sets:
        return "set"
    if card.digital and not settings.include_digital:
        return "digital"
    if not settings.include_tokens and (card.layout in TOKEN_LAYOUTS or card.set_type == "token"):
        return "token"
    if not settings.include_art_series and card.layout == "art_series":
        return "art series"
    if not card.faces or card.image_status in UNUSABLE_IMAGE_STATUSES:
        return "no image"
    return None
