"""The baselines debate is measured against, built as degenerate debates so that the prompts,
parsing, vote and token accounting are exactly the debate's own.

* single agent: one agent, one round.
* self-reflection: one agent, R rounds; with nobody to read, each later round asks the agent
  to double-check its answer (the reference implementation's behaviour with zero peers).
* majority vote: independent agents, one round, no reading; by default as many samples as the
  debate makes model calls (agents x rounds), so both spend the same number of completions.
  Debate still reads more prompt tokens (each round quotes the others), so token counts are
  reported next to every accuracy rather than assumed equal.
"""

from __future__ import annotations

from hanlin.agents.debate import Debate, DebateAgent


def single_agent(debate: Debate) -> Debate:
    return _variant(debate, [debate.agents[0]], rounds=1)


def self_reflection(debate: Debate, rounds: int | None = None) -> Debate:
    return _variant(debate, [debate.agents[0]], rounds=rounds or debate.rounds)


def independent_majority(debate: Debate, samples: int | None = None) -> Debate:
    """``samples`` independent answers (default: the debate's call count), cycling through the
    debate's agents; sample k gets seed ``base + k`` so sampling backends draw differently."""
    count = samples if samples is not None else len(debate.agents) * debate.rounds
    if count < 1:
        raise ValueError(f"samples must be at least 1, got {count}")
    voters = []
    for index in range(count):
        source = debate.agents[index % len(debate.agents)]
        seed = (source.options.seed or 0) + index
        voters.append(
            DebateAgent(
                name=f"voter-{index + 1}",
                model=source.model,
                persona=source.persona,
                options=source.options.model_copy(update={"seed": seed}),
            )
        )
    return _variant(debate, voters, rounds=1)


def debate_baselines(debate: Debate) -> dict[str, Debate]:
    """Every baseline for ``debate``, by the name reports use."""
    return {
        "single": single_agent(debate),
        "reflection": self_reflection(debate),
        "majority": independent_majority(debate),
    }


def _variant(debate: Debate, agents: list[DebateAgent], rounds: int) -> Debate:
    return debate.model_copy(
        update={"agents": agents, "rounds": rounds, "topology": None, "judge": None}
    )
