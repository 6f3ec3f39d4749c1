"""Does an answer introduce itself as a model? Then a vote on it reveals more than the code.

An answer is flagged when it names, in the first person, *any* model or vendor known to the
catalog, not only its own: a reply that says "I am Claude" identifies its vendor (or wrongly
claims another's) either way, and a blind vote on it is no longer blind.

Names checked (:func:`catalog_names`): for every catalog entry its label ("GPT 4o"), the vendor
of its upstream id ("openai", "mistralai"), the model part without a tag ("gpt-4",
"qwen2.5-coder"), plus the usual family and vendor names of the big vendors (``FAMILIES``:
GPT/ChatGPT/OpenAI, Claude/Anthropic, Gemini/Google, Llama/Meta, Mistral, Qwen, DeepSeek ...).

A name counts only in a self-introduction (``_SELF_PATTERNS``): "I am GPT-4", "I'm an AI model
called Llama", "I was trained by OpenAI", "my name is Gemini", or a sentence opening "As Claude,
...". Matching is case-insensitive, with word boundaries on both sides, so prose and code about a
library or an API ("a GPT tokenizer", "built by Google", ``class Meta:``, ``openai.ChatCompletion``)
is not flagged. Names that are ordinary words (``AMBIGUOUS``: "Meta") match only as written
(capitalised) and not as the start of a compound ("As meta-programming ..."); generic ids such as
``openrouter/auto`` contribute nothing (``IGNORED``), and names under 3 characters are skipped.
"""

from __future__ import annotations

import re
from functools import lru_cache

from codearena.catalog import Catalog, UnknownModel

FAMILIES: dict[str, tuple[str, ...]] = {
    "openai": ("GPT", "ChatGPT", "OpenAI"),
    "google": ("Gemini", "Gemma", "Google", "Bard"),
    "meta-llama": ("Llama", "Meta AI", "Meta"),
    "mistralai": ("Mistral", "Mixtral", "Mistral AI"),
    "anthropic": ("Claude", "Anthropic"),
    "deepseek": ("DeepSeek",),
    "qwen": ("Qwen", "Alibaba"),
}
# Ordinary words: matched case-sensitively and not followed by "-" or "_" or a letter/digit.
AMBIGUOUS = frozenset({"Meta"})
# Parts of ids that are not names of a model or vendor.
IGNORED = frozenset({"auto", "free", "beta", "latest", "instruct", "chat", "fake", "ok"})

_ROLE = r"(?:(?:an?|the)\s+)?(?:(?:AI|large|language|model|assistant|chatbot)\s+)*(?:(?:called|named)\s+)?"
_SELF_PATTERNS = (
    r"\b(?:I am|I'm|I was|my name is)\s+" + _ROLE + "{names}",
    r"(?:^|[.!?:]\s+|\n\s*)As\s+" + _ROLE + "{names}",
    # "I am a large language model trained by X", "I'm GPT-4o, made by X": only role words and
    # capitalised tokens between, so "I am not sure it was built by Google" stays unflagged
    r"\b(?:I am|I'm|I was)\s+(?:(?:an?|the)\s+)?"
    r"(?:(?:AI|large|language|model|assistant|chatbot|(?-i:[A-Z][\w.-]*),?)\s+){{0,4}}?"
    r"(?:developed|created|trained|built|made)\s+by\s+{names}",
)


def _names_of_id(vendor_and_name: str) -> set[str]:
    vendor, _, name = vendor_and_name.partition("/")
    names = {vendor, name.split(":")[0]} if name else {vendor.split(":")[0]}
    names.update(FAMILIES.get(vendor, ()))
    return names


def self_names(catalog: Catalog, model: str) -> list[str]:
    """Names of one model: label, vendor, model name and its vendor's family names."""
    try:
        info = catalog.resolve(model).model
        names = {info.label} | _names_of_id(info.upstream_id)
    except UnknownModel:
        names = {model} | _names_of_id(model)
    return _usable(names)


def catalog_names(catalog: Catalog) -> list[str]:
    """Every model and vendor name known to the catalog, and the big vendors' family names."""
    names: set[str] = {n for family in FAMILIES.values() for n in family}
    for info in catalog.all():
        names.add(info.label)
        names.update(_names_of_id(info.upstream_id))
        # a synced label reads "Vendor: Model"; both halves are names
        names.update(part.strip() for part in info.label.split(":"))
    return _usable(names)


def _usable(names: set[str]) -> list[str]:
    return sorted(
        (n for n in names if len(n) >= 3 and n.lower() not in IGNORED),
        key=lambda n: (-len(n), n),
    )


@lru_cache(maxsize=32)
def _compiled(names: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    parts = []
    for name in names:  # longest first, so "GPT 4 Turbo" wins over "GPT"
        if name in AMBIGUOUS:
            parts.append(f"(?-i:{re.escape(name)})(?![\\w-])")
        else:
            parts.append(f"{re.escape(name)}(?![A-Za-z])")
    alternation = "(?:" + "|".join(parts) + ")"
    return tuple(
        re.compile(template.format(names=alternation), re.IGNORECASE) for template in _SELF_PATTERNS
    )


def names_own_model(text: str, names: list[str]) -> bool:
    """True when ``text`` introduces itself as one of ``names`` ("As GPT-4, ...", "I am Llama")."""
    if not names or not text:
        return False
    return any(p.search(text) for p in _compiled(tuple(names)))


def self_identifies(catalog: Catalog, text: str) -> bool:
    """True when ``text`` introduces itself as any model or vendor known to the catalog."""
    return names_own_model(text, catalog_names(catalog))
