"""A string the model keeps repeating itself in is caught, closed and cut back."""

from __future__ import annotations

from hanlin.llm.value_loops import in_loop, item_in_loop, looping_piece, open_string, unlooped

QUESTION = "Who won the game between the Lakers and the Clippers in 2021?"


def test_the_open_string_is_found_past_escaped_quotes() -> None:
    assert open_string('{"name": "f", "arguments": {"venue": "Stap') == "Stap"
    assert open_string('{"name": "f", "arguments": {"venue": "Staples"') is None
    assert open_string('{"a": "say \\"hi\\" and') == 'say \\"hi\\" and'
    assert open_string('{"a": 12') is None


def test_a_piece_repeated_three_times_is_a_loop() -> None:
    assert looping_piece("Lakers_2021_2021_2021", QUESTION) == "_2021"
    assert looping_piece("Lakers_2021_2021", QUESTION) is None  # twice is not yet a loop
    assert looping_piece("aaa", QUESTION) is None  # one letter over and over is no piece
    call = '{"name": "winner", "arguments": {"venue": "Lakers_2021_2021_2021'
    assert in_loop(call, QUESTION)
    assert not in_loop(call + '"', QUESTION)  # closed: nothing more to stop


def test_a_run_the_question_itself_holds_is_no_loop() -> None:
    question = "Find the reverse complement of ATGATGATGC."
    assert looping_piece("ATGATGATG", question) is None
    assert unlooped({"sequence": "ATGATGATG"}, question) == {"sequence": "ATGATGATG"}


def test_a_looping_tail_is_cut_back_to_its_first_occurrence() -> None:
    arguments = {
        "venue": "Lakers_Clippers_2021_2021_2021_",
        "teams": ["Lakers", "pope_joseph_joseph_joseph"],
        "year": 2021,
        "note": "2021",
    }
    assert unlooped(arguments, QUESTION) == {
        "venue": "Lakers_Clippers_2021",
        "teams": ["Lakers", "pope_joseph"],
        "year": 2021,
        "note": "2021",
    }


def test_a_list_the_model_keeps_adding_one_item_to_is_a_loop() -> None:
    question = "Find 5 Thai restaurants in Manhattan with a vegan menu."
    head = '{"name": "f", "arguments": {"diet": ["Thai", '
    assert not item_in_loop(head + '"Bhima Kala", "Bhima Kala', question)  # twice is not yet
    assert item_in_loop(head + '"Bhima Kala", "Bhima Kala","Bhima Kala', question)
    assert not item_in_loop(head + '"Bhima Kala", "Bhima Kala", "Bhima', question)  # yet
    assert not item_in_loop(head + '"Bhima Kala", "Bhima Kala", "Bhima Kala"', question)
    # A run the question holds is what was asked for.
    assert not item_in_loop('{"a": ["ab", "ab", "ab', "Say ab, ab, ab.")
    assert unlooped({"diet": ["Thai", "Bhima Kala", "Bhima Kala", "Bhima Kala"]}, question) == {
        "diet": ["Thai", "Bhima Kala"]
    }
    assert unlooped({"a": [1, 1, 1]}, "Sort 1, 1, 1, 0.") == {"a": [1, 1, 1]}
    assert unlooped({"a": [2, 2]}, question) == {"a": [2, 2]}
