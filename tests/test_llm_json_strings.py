"""Strings written under hanlin's grammars are JSON strings: no raw line break or other
control character, which a JSON parser refuses. The schema converter llama-cpp-python ships
admits them, and the real model, shown strings that break lines, writes one."""

from __future__ import annotations

import json

import pytest
from llama_cpp import LlamaGrammar
from tool_spec_support import spec

from hanlin.llm.local_grammar import call_rules, json_rules, json_schema_grammar
from hanlin.llm.local_model import LocalModel

# Every example string breaks its line after the comma; the prompt stops right there.
PROMPT = (
    'Poem: "Roses are red,\nviolets are blue."\n'
    'Poem: "The sea is wide,\nthe sky is high."\n'
    'Poem: "The sun is bright,\nthe day is long."\n'
    'Poem: "The night is dark,'
)


def _string_rest(rules: str) -> LlamaGrammar:
    """The rest of an open JSON string (then its closing quote), spelled by ``rules``'s own
    character rule."""
    char = next(line for line in rules.splitlines() if line.startswith("char ::="))
    return LlamaGrammar.from_string(f'root ::= char* "\\""\n{char}\n', verbose=False)


def test_every_grammar_spells_strings_without_control_characters() -> None:
    schema = {"type": "object", "properties": {"text": {"type": "string"}}}
    tool = spec("note", "Save a note.", text="string")
    for rules in (json_rules(schema), call_rules([tool])):
        char = next(line for line in rules.splitlines() if line.startswith("char ::="))
        assert "\\x00-\\x1F" in char and "\\x7F" in char, char
    json_schema_grammar(schema)  # compiles


@pytest.mark.local_model
def test_the_model_cannot_break_a_line_inside_a_string() -> None:
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    llama = LocalModel(n_threads=1).load().llama
    loose = json_schema_to_gbnf(json.dumps({"type": "string"}))
    strict = json_rules({"type": "string"})
    written = {}
    for name, rules in (("loose", loose), ("strict", strict)):
        grammar = _string_rest(rules)
        out = llama.create_completion(PROMPT, max_tokens=30, grammar=grammar, temperature=0.0)
        written[name] = out["choices"][0]["text"]
    # The converter's own rule lets the model break the line, as its examples do ...
    assert "\n" in written["loose"]
    with pytest.raises(json.JSONDecodeError):
        json.loads('"The night is dark,' + written["loose"])
    # ... and hanlin's does not: what it writes is a string any JSON parser reads.
    assert not any(ord(c) < 0x20 or ord(c) == 0x7F for c in written["strict"])
    assert json.loads('"The night is dark,' + written["strict"]).startswith("The night is dark,")
