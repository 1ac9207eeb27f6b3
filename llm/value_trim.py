"""Values cut back to what the question says.

Two ways a 135M model writes more than it was asked for:

* Offered a list of choices ("amenities": an array of enum strings), it writes every choice
  in the order the schema lists them, not the one the question names: "parks in London with
  a tennis court" becomes all four amenities. A list of choices keeps the ones the question
  names; where it names none, the list stays as written (the question may describe a choice
  in words of its own).
* It capitalises the article before a name: "during the Civil War" gives "The Civil War".
  An article the question writes in lower case is not part of the name and is dropped; one
  it capitalises inside a sentence ("'The Office'") is kept.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from hanlin.llm.call_grounding import Grounding

_ARTICLE = re.compile(r"^(the|a|an)\s+(\S.*)$", re.IGNORECASE | re.DOTALL)


def trimmed(
    arguments: Mapping[str, Any], schema: Mapping[str, Any], grounding: Grounding
) -> dict[str, Any]:
    """``arguments`` with lists of choices cut to the named ones and lower-case articles
    taken off the strings at their top level."""
    properties = schema.get("properties") or {}
    out = dict(arguments)
    for key, value in arguments.items():
        spec = properties.get(key) if isinstance(properties, Mapping) else None
        if isinstance(value, list) and isinstance(spec, Mapping):
            out[key] = named_choices(value, spec, grounding)
        elif isinstance(value, str):
            out[key] = without_article(value, grounding.question)
    return out


def named_choices(value: list[Any], spec: Mapping[str, Any], grounding: Grounding) -> list[Any]:
    """The items of a list of enum choices that the question names, or the list as it is
    when it names none (or the list is not one of choices)."""
    items = spec.get("items")
    choices = items.get("enum") if isinstance(items, Mapping) else None
    if not isinstance(choices, list) or not all(isinstance(item, str) for item in value):
        return value
    named = [item for item in value if _named(item, grounding)]
    return named or value


def _named(choice: str, grounding: Grounding) -> bool:
    # "Picnic Area" by "picnic areas"; a choice of short words ("Wi-Fi") by those words.
    return grounding.names(choice) or grounding.holds(choice)


def without_article(value: str, question: str) -> str:
    """``value`` without a leading article the question does not capitalise before the
    rest of it ("the Civil War" -> "Civil War"); as it is where the question writes the
    article with a capital ("'The Office'", or a sentence that starts with it)."""
    match = _ARTICLE.match(value.strip())
    if match is None:
        return value
    article, rest = match.groups()
    if rest.lower() not in question.lower():
        return value
    capitalised = re.compile(rf"\b{article.capitalize()}\s+{re.escape(rest)}", re.IGNORECASE)
    for found in capitalised.finditer(question):
        if found.group(0)[0].isupper():
            return value
    return rest
