"""Plausible card words for synthetic cards: names, mana costs, type lines, rules text.

The generator must not depend on /work/shared or on real card data, yet a metric-learning
model that reads titles should see title-like text of realistic length and shape, so the
words are assembled from syllables and small word lists rather than random letters.
"""

from __future__ import annotations

import numpy as np

_ONSETS = ("b", "br", "c", "ch", "d", "dr", "f", "g", "gr", "h", "k", "kh", "l", "m", "n",
           "p", "r", "s", "sh", "st", "t", "th", "tr", "v", "vr", "z", "")
_VOWELS = ("a", "e", "i", "o", "u", "ae", "ai", "au", "ei", "y", "or", "ar", "ir")
_CODAS = ("", "", "n", "r", "th", "s", "k", "l", "m", "x", "nd", "rn", "sk", "ll")

_ADJECTIVES = ("Ancient", "Burning", "Silent", "Hollow", "Gilded", "Feral", "Grim", "Radiant",
               "Shattered", "Verdant", "Storm", "Ashen", "Sunlit", "Bloodthirsty", "Eternal",
               "Wandering", "Frozen", "Cunning", "Vengeful", "Mystic", "Iron", "Sacred", "Lost")
_NOUNS = ("Dragon", "Oracle", "Wurm", "Knight", "Sphinx", "Angel", "Goblin", "Elemental",
          "Druid", "Titan", "Serpent", "Shade", "Golem", "Revenant", "Sentinel", "Hydra",
          "Wolf", "Phoenix", "Archmage", "Warden", "Colossus", "Specter", "Shaman", "Djinn")
_SPELL_NOUNS = ("Bolt", "Growth", "Ritual", "Rebuke", "Insight", "Tide", "Blessing", "Hex",
                "Surge", "Charm", "Command", "Pact", "Reckoning", "Offering", "Gambit",
                "Visions", "Inferno", "Renewal", "Edict", "Denial", "Harvest", "Rift")
_PLACES = ("Spire", "Falls", "Sanctum", "Mire", "Citadel", "Grove", "Catacombs", "Reach",
           "Foundry", "Expanse", "Tower", "Crossing", "Vault", "Peaks", "Hollow", "Shrine")

SUBTYPES = {
    "W": ("Human Cleric", "Angel", "Human Soldier", "Spirit", "Unicorn"),
    "U": ("Merfolk Wizard", "Sphinx", "Human Wizard", "Illusion", "Serpent"),
    "B": ("Zombie", "Vampire Rogue", "Demon", "Horror", "Human Warlock"),
    "R": ("Goblin Warrior", "Dragon", "Elemental", "Human Berserker", "Devil"),
    "G": ("Elf Druid", "Beast", "Wolf", "Hydra", "Treefolk"),
    "C": ("Golem", "Construct", "Thopter", "Scarecrow", "Myr"),
    "M": ("Human Knight", "Sphinx", "Dragon", "Elf Warrior", "Demon"),
}
BASIC_LANDS = {"W": "Plains", "U": "Island", "B": "Swamp", "R": "Mountain", "G": "Forest",
               "C": "Wastes", "M": "Plains"}

_EFFECTS = (
    "Draw {n} cards.",
    "Target creature gets +{n}/+{n} until end of turn.",
    "{name} deals {n} damage to any target.",
    "Destroy target creature with mana value {n} or less.",
    "Counter target spell unless its controller pays {{{n}}}.",
    "Create {n} 1/1 white Soldier creature tokens.",
    "Return target creature to its owner's hand.",
    "You gain {n} life.",
    "Target player mills {n} cards.",
    "Put a +1/+1 counter on each creature you control.",
    "Scry {n}.",
    "Add {{{c}}}{{{c}}}.",
    "Exile target artifact or enchantment.",
    "Each opponent discards a card.",
    "Search your library for a basic land card, put it onto the battlefield tapped.",
)
_KEYWORDS = ("Flying", "Trample", "Vigilance", "Deathtouch", "Lifelink", "Haste", "Reach",
             "First strike", "Menace", "Hexproof", "Ward {2}", "Flash")
_TRIGGERS = ("When {name} enters the battlefield, ", "Whenever {name} attacks, ",
             "At the beginning of your upkeep, ", "{{T}}: ", "{{{n}}}, {{T}}: ",
             "Whenever a creature you control dies, ")
_FLAVOUR = (
    "\"The old roads remember every footstep.\"",
    "Where the river bends, the dead keep watch.",
    "It hungered long before the world had a name.",
    "\"Strike once, and let the storm do the rest.\"",
    "Even the mountains bow when the wind turns cold.",
    "The library's oldest books read their readers.",
)


def _word(rng: np.random.Generator, syllables: int) -> str:
    parts = []
    for i in range(syllables):
        onset = _ONSETS[rng.integers(len(_ONSETS))]
        coda = _CODAS[rng.integers(len(_CODAS))] if i == syllables - 1 else ""
        parts.append(onset + _VOWELS[rng.integers(len(_VOWELS))] + coda)
    return "".join(parts).capitalize()


def _pick(rng: np.random.Generator, words: tuple[str, ...]) -> str:
    return words[int(rng.integers(len(words)))]


def fantasy_name(rng: np.random.Generator) -> str:
    """A card-title-like name: mixes invented proper nouns with English words as real sets do."""
    style = int(rng.integers(6))
    if style == 0:
        return f"{_pick(rng, _ADJECTIVES)} {_pick(rng, _NOUNS)}"
    if style == 1:
        return f"{_word(rng, int(rng.integers(2, 4)))}, {_pick(rng, _ADJECTIVES)} {_pick(rng, _NOUNS)}"
    if style == 2:
        return f"{_word(rng, 2)}'s {_pick(rng, _SPELL_NOUNS)}"
    if style == 3:
        return f"{_pick(rng, _SPELL_NOUNS)} of the {_pick(rng, _ADJECTIVES)} {_pick(rng, _PLACES)}"
    if style == 4:
        return f"{_word(rng, 2)} {_pick(rng, _PLACES)}"
    return f"{_pick(rng, _ADJECTIVES)} {_pick(rng, _SPELL_NOUNS)}"


def sibling_name(name: str, rng: np.random.Generator) -> str:
    """A different name sharing all but one word with `name`: the hardest titles to tell apart.

    A word from the built-in lists is swapped for another of the same kind; names with no
    such word (real names passed in) get a noun appended instead.
    """
    words = name.split(" ")
    pools = (_ADJECTIVES, _NOUNS, _SPELL_NOUNS, _PLACES)
    swappable = [(i, pool) for i, word in enumerate(words) for pool in pools if word.rstrip(",") in pool]
    if not swappable:
        return f"{name} {_pick(rng, _NOUNS)}"
    i, pool = swappable[int(rng.integers(len(swappable)))]
    old = words[i].rstrip(",")
    replacement = _pick(rng, tuple(w for w in pool if w != old))
    words[i] = replacement + words[i][len(old):]
    return " ".join(words)


def set_code(rng: np.random.Generator) -> str:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return "".join(letters[int(k)] for k in rng.integers(0, 26, size=3))


def set_name(rng: np.random.Generator) -> str:
    return f"{_word(rng, int(rng.integers(2, 4)))}: {_pick(rng, _ADJECTIVES)} {_pick(rng, _PLACES)}"


def mana_cost(colour: str, rng: np.random.Generator) -> str:
    """Scryfall-style cost such as ``{2}{G}{G}``; gold cards get two colours, artifacts none."""
    generic = int(rng.integers(0, 5))
    if colour == "C":
        return f"{{{max(generic, 1)}}}"
    if colour == "M":
        a, b = rng.choice(list("WUBRG"), size=2, replace=False)
        pips = [str(a)] * int(rng.integers(1, 3)) + [str(b)] * int(rng.integers(1, 3))
    else:
        pips = [colour] * int(rng.integers(1, 4))
    return (f"{{{generic}}}" if generic else "") + "".join(f"{{{p}}}" for p in pips)


def type_line(colour: str, rng: np.random.Generator) -> str:
    kind = int(rng.integers(6))
    if kind <= 2:
        prefix = "Artifact Creature" if colour == "C" else "Creature"
        if rng.random() < 0.15:
            prefix = "Legendary " + prefix
        return f"{prefix} — {_pick(rng, SUBTYPES[colour])}"
    if colour == "C":
        return _pick(rng, ("Artifact", "Artifact — Equipment", "Legendary Artifact"))
    return _pick(rng, ("Instant", "Sorcery", "Enchantment", "Enchantment — Aura"))


def rules_text(name: str, type_text: str, colour: str, rng: np.random.Generator) -> str:
    """One to three abilities, keywords first for creatures, sometimes a ``*flavour*`` line."""
    lines = []
    if "Creature" in type_text and rng.random() < 0.7:
        count = int(rng.integers(1, 3))
        lines.append(", ".join(rng.choice(_KEYWORDS, size=count, replace=False)))
    c = colour if colour in "WUBRG" else "C"
    for _ in range(int(rng.integers(1, 3))):
        n = int(rng.integers(1, 5))
        effect = _pick(rng, _EFFECTS).format(n=n, name=name, c=c)
        if "Creature" in type_text or "Artifact" in type_text or rng.random() < 0.3:
            trigger = _pick(rng, _TRIGGERS).format(name=name, n=n)
            starts_sentence = trigger.endswith(": ") or effect.startswith(name)
            effect = trigger + (effect if starts_sentence else effect[0].lower() + effect[1:])
        lines.append(effect)
    if rng.random() < 0.5:
        lines.append(f"*{_pick(rng, _FLAVOUR)}*")
    return "\n".join(lines)


def artist_name(rng: np.random.Generator) -> str:
    return f"{_word(rng, 2)} {_word(rng, int(rng.integers(2, 4)))}"
