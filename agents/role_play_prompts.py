"""Prompts for CAMEL-style role-play (Li et al., 2023): inception prompts and helper agents.

Inception prompting gives each side, once, a system prompt that fixes who instructs whom, the
shape of every reply, and how to end; the two agents then talk with no human in the loop.
The wording is hanlin's own; the markers (``Instruction:``, ``Input:``, ``Solution:``,
``Next request.``, ``<CAMEL_TASK_DONE>``) are the paper's, since the loop reads them.
"""

from __future__ import annotations

TASK_DONE = "<CAMEL_TASK_DONE>"
INSTRUCTION_PREFIX = "Instruction:"
INPUT_PREFIX = "Input:"
SOLUTION_PREFIX = "Solution:"
NEXT_REQUEST = "Next request."

SPECIFIER_ROLE = "Task Specifier"
PLANNER_ROLE = "Task Planner"

TASK_SPECIFIER_SYSTEM = "You turn a broad task into a concrete, specific one."
TASK_PLANNER_SYSTEM = "You split tasks into short, ordered subtasks."

# The first message the user agent receives, standing in for the assistant's opening line.
START_INSTRUCTING = (
    "Please begin giving me instructions, one at a time. "
    f"Reply only with an {INSTRUCTION_PREFIX} line and an {INPUT_PREFIX} line."
)

INVALID_CHOICE_PREFIX = "> That was not a valid choice. Choose again.\n"


def task_specifier_prompt(assistant_role: str, user_role: str, task: str, word_limit: int) -> str:
    return (
        f"{assistant_role} is going to help {user_role} with this task: {task}.\n"
        "Rewrite the task so that it is more specific; be creative and imaginative.\n"
        f"Answer with the rewritten task only, in at most {word_limit} words."
    )


def task_planner_prompt(task: str) -> str:
    return f"Break this task into subtasks, one per line: {task}. Keep it short."


def assistant_system_prompt(assistant_role: str, user_role: str, task: str) -> str:
    """The assistant's inception prompt: it solves, it never instructs."""
    return f"""===== RULES FOR THE ASSISTANT =====
You are {assistant_role} and I am {user_role}. Keep these roles for the whole conversation: never swap them, and never give me instructions.
We work together on one shared task, and your job is to help me finish it.
The task is: {task}. Keep it in mind at all times.
I will instruct you, drawing on your expertise and on what I need, to complete the task.
I will give you exactly one instruction at a time.
For each instruction, write a concrete solution that carries it out, and explain it.
If you cannot carry out an instruction, for physical, moral or legal reasons or because it is beyond your ability, say so honestly and explain why.
Unless I tell you the task is finished, always begin your reply with:

{SOLUTION_PREFIX} <YOUR_SOLUTION>

<YOUR_SOLUTION> must be specific and should include implementations and examples that move the task forward.
Always finish <YOUR_SOLUTION> with: {NEXT_REQUEST}"""


def user_system_prompt(assistant_role: str, user_role: str, task: str) -> str:
    """The user agent's inception prompt: it instructs, it never solves."""
    return f"""===== RULES FOR THE USER =====
You are {user_role} and I am {assistant_role}. Keep these roles for the whole conversation: never swap them. You always give the instructions.
We work together on one shared task, and I will help you finish it.
The task is: {task}. Keep it in mind at all times.
Instruct me, using my expertise and your needs, in exactly one of these two forms:

1. An instruction that comes with an input:
{INSTRUCTION_PREFIX} <YOUR_INSTRUCTION>
{INPUT_PREFIX} <YOUR_INPUT>

2. An instruction without an input:
{INSTRUCTION_PREFIX} <YOUR_INSTRUCTION>
{INPUT_PREFIX} None

The instruction names a step or a question; the input gives the context or data it needs.
Give me exactly one instruction at a time.
I must write a solution for each instruction you give.
Give instructions; do not ask me questions.
Start instructing me now, in one of the two forms above.
Write nothing except the instruction and its input.
Keep instructing me until you judge the task complete.
When it is complete, reply with the single word {TASK_DONE} and nothing else.
Never reply {TASK_DONE} before my answers have actually solved the task."""


def assistant_flip_correction(assistant_role: str, user_role: str, reason: str) -> str:
    return (
        f"Your last reply broke the rules: {reason}. Remember: you are {assistant_role}, "
        f"{user_role} gives the instructions and you solve them. Answer the last instruction "
        f"again, starting with '{SOLUTION_PREFIX}' and ending with '{NEXT_REQUEST}'."
    )


def user_flip_correction(assistant_role: str, user_role: str, reason: str) -> str:
    return (
        f"Your last reply broke the rules: {reason}. Remember: you are {user_role} and you "
        f"instruct {assistant_role}; you never solve. Reply again with one "
        f"'{INSTRUCTION_PREFIX}' line and one '{INPUT_PREFIX}' line, or with {TASK_DONE} "
        "if the task is complete."
    )


def critic_system_prompt(
    critic_role: str, user_role: str, assistant_role: str, task: str, criteria: str
) -> str:
    return (
        f"You are {critic_role}, working with {user_role} and {assistant_role} on this task: "
        f"{task}.\nYou are shown several proposals from one of them; pick one and explain "
        f"why.\nJudge them by: {criteria}.\nYou must always pick one of the proposals."
    )


def critic_proposals(role_name: str, side: str, options: list[str]) -> str:
    """The critic's question; its reply must start with the option's number."""
    body = "".join(f"Option {k}:\n{text}\n\n" for k, text in enumerate(options, start=1))
    return (
        f"> Proposals from {role_name} ({side}). Choose one:\n{body}"
        f"First give the number of your choice (1-{len(options)}), then your reasons "
        "and how the options compare: "
    )
