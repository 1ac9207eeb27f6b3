"""A string the model keeps repeating itself in is caught, closed and cut back."""

from __future__ import annotations

from hanlin.llm.value_loops import (
    LONG_PIECE,
    in_loop,
    item_in_loop,
    list_items_before,
    looping_piece,
    open_string,
    unlooped,
)

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


def test_a_long_piece_written_a_second_time_is_a_loop() -> None:
    question = "Delete the email and ssn columns from the personal_data table of employees."
    piece = "_to_remove_email_and_social_numbers"  # longer than LONG_PIECE
    assert len(piece) >= LONG_PIECE
    assert looping_piece("employees" + piece, question) is None
    assert looping_piece("employees" + piece * 2, question) == piece
    assert in_loop('{"db_name": "employees' + piece * 2, question)
    # A short piece still needs three writings, and a doubled run the question holds is kept.
    assert looping_piece("New York, New York, ", question) is None
    doubled = "quarterly_report" * 2
    assert looping_piece("ab" + doubled, f"Open {doubled}.") is None
    assert unlooped({"db": "employees" + piece * 2}, question) == {"db": "employees" + piece}


def test_a_list_cycling_through_a_few_items_is_a_loop() -> None:
    question = "Predict the spending score from the age, gender and education of customers."
    head = '{"name": "f", "arguments": {"predictors": ['
    cycle = '"Age", "Gender", "Education", '
    assert list_items_before(head + '"Age", "Gen') == ["Age"]
    assert list_items_before(head + '"a \\"quoted\\" one", "b') == ['a \\"quoted\\" one']
    assert list_items_before('{"a": {"b": "c') is None  # not a list item
    assert list_items_before('{"a": [{"b": 1}, "c') is None  # not a list of strings only
    assert not item_in_loop(head + cycle + '"Age', question)  # twice is not yet
    assert item_in_loop(head + cycle * 2 + '"Age', question)
    assert not item_in_loop(head + cycle * 2 + '"Age group', question)  # a new item
    # An item the question names three times may be listed three times.
    assert not item_in_loop('{"a": ["cat", "dog", "cat", "cat', "Tag cat, dog, cat, cat.")
    looped = unlooped({"predictors": ["Age", "Gender", "Education"] * 2 + ["Age"]}, question)
    assert looped == {"predictors": ["Age", "Gender", "Education"]}
    kept = ["cat", "dog", "cat", "cat"]
    assert unlooped({"a": kept}, "Tag cat, dog, cat, cat.") == {"a": kept}


def test_a_string_that_runs_on_past_the_call_end_is_closed_and_cut_there() -> None:
    question = "Train a random forest on data_random_forest with 100, 200 and 300 trees."
    ran_on = '{"name": "f", "arguments": {"data": "data_rf]}</tool_call>  # 100 trees, 200'
    assert in_loop(ran_on, question)
    assert not in_loop('{"name": "f", "arguments": {"data": "data_rf]}', question)
    assert unlooped({"data": "data_rf]}</tool_call>  # 100 trees"}, question) == {"data": "data_rf"}
