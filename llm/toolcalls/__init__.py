"""Reading tool calls out of model text: the formats small models write (Hermes tags, fenced
or bare JSON, ReAct ``Action:`` lines, calls inside ``<think>``), JSON repair, argument checks
against the tool's schema, and the tool-use instructions for models without native calls."""
