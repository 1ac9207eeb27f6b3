"""The chat's built-in teams (ReAct, debate, role-play, supervisor): their configuration, how
each is built, the models and memory they use, and their registration as service assistants."""
