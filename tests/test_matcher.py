"""The matcher as a pure function: disambiguation, abstention, small talk, languages."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import load_settings
from bot.engine import Engine
from bot.knowledge_load import load_knowledge
from bot.knowledge_parse import parse_knowledge
from bot.matcher import Verdict
from bot.normalise import fold, tokenize
from bot.replies import reply_to

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def engine() -> Engine:
    settings = load_settings(ROOT / "config" / "bot.yaml", env={})
    return Engine.build(load_knowledge(settings.facts, settings.article), settings.matching)


def fact_of(engine: Engine, question: str) -> str | None:
    reply = reply_to(engine, question)
    return reply.fact.id if reply.fact else None


@pytest.mark.parametrize(
    ("question", "fact"),
    [
        # Years and numbers decide between facts that share most words.
        ("What was the trade turnover in 2021?", "trade_turnover_2021"),
        ("what trade volume are they aiming at for 2023", "trade_target_2023"),
        ("how big should their trade be in 2023", "trade_target_2023"),
        # Rank vs who follows.
        ("Which country is Azerbaijan's second-largest investor?", "investor_rank"),
        ("Which country follows Turkiye among investors?", "investor_uk"),
        # Who someone is vs what they said.
        ("what is Sahil Babayev's job", "babayev_role"),
        ("which groups did Babayev want better protected", "babayev_protection_groups"),
        ("tell me who Derya Yanik is", "yanik_role"),
        ("what did Yanik want for kids without parents", "yanik_children"),
        ("who were the two people at the meeting", "meeting_participants"),
        ("did the meeting happen over the internet", "meeting_format"),
    ],
)
def test_facts_that_share_words_are_told_apart(engine: Engine, question: str, fact: str) -> None:
    # Not a phrasing of the knowledge file: an exact lookup would pass it, proving nothing.
    said = {" ".join(tokenize(fold(q))) for f in engine.kb.facts for q in f.questions}
    assert " ".join(tokenize(fold(question))) not in said
    assert fact_of(engine, question) == fact


@pytest.mark.parametrize(
    "question",
    [
        "Who won the World Cup?",
        "asdkjh qwe zzz",
        "How do I reverse a list in Python?",
        # Near misses: they share words with the article, which does not answer them.
        "What was the trade turnover between Azerbaijan and Russia?",
        "Who is Georgia's labour minister?",
        "Who is the president of Turkey?",
        "What was the trade turnover in 2022?",
        "Who is Azerbaijan's largest investor?",
        "How much did the UK invest in Azerbaijan?",
    ],
)
def test_questions_the_article_does_not_answer_get_no_fact(engine: Engine, question: str) -> None:
    reply = reply_to(engine, question)
    assert reply.fact is None
    assert reply.verdict in (Verdict.NO_ANSWER, Verdict.SMALLTALK)


def test_no_answer_offers_related_questions(engine: Engine) -> None:
    reply = reply_to(engine, "What was the trade turnover between Azerbaijan and Russia?")
    assert reply.verdict is Verdict.NO_ANSWER
    assert 1 <= len(reply.suggestions) <= 3
    assert "trade_turnover_2021" in {f.id for f in reply.suggestions}


@pytest.mark.parametrize(
    ("message", "intent"),
    [("hi", "greeting"), ("Thank you so much!", "thanks"), ("help", "help"), ("bye", "goodbye")],
)
def test_small_talk_is_answered_as_such(engine: Engine, message: str, intent: str) -> None:
    reply = reply_to(engine, message)
    assert reply.verdict is Verdict.SMALLTALK
    assert reply.intent == intent
    assert reply.fact is None


def test_a_greeting_does_not_hide_the_question(engine: Engine) -> None:
    assert fact_of(engine, "hi! who met whom?") == "meeting_participants"


@pytest.mark.parametrize(
    ("question", "fact", "language"),
    [
        ("Kim kiminle görüştü?", "meeting_participants", "tr"),
        ("2021-ci ildə ticarət dövriyyəsi nə qədər olub?", "trade_turnover_2021", "az"),
        ("Какой был товарооборот в 2021 году?", "trade_turnover_2021", "ru"),
        # Names across scripts and spellings.
        ("Кто такой Бабаев?", "babayev_role", "ru"),
        ("Дерья Янык кто это?", "yanik_role", "ru"),
        ("Derya Yanık kimdir?", "yanik_role", "tr"),
        ("Azərbaycan ilə Türkiyə arasında ticarət dövriyyəsi 2021", "trade_turnover_2021", "az"),
    ],
)
def test_other_languages_get_the_fact_in_their_language(
    engine: Engine, question: str, fact: str, language: str
) -> None:
    reply = reply_to(engine, question)
    assert reply.fact is not None and reply.fact.id == fact
    assert reply.language == language
    assert reply.fact.answer_in(language) != reply.fact.answer  # translated answer
    assert reply.fact.quote in engine.kb.article  # the quote stays the English sentence


def test_question_length_is_bounded(engine: Engine) -> None:
    """A 4,096-character message is matched on its beginning, not refused or slow."""
    reply = reply_to(engine, "Who met whom? " + "blah " * 900)
    assert reply.verdict is Verdict.ANSWER
    assert reply.fact is not None and reply.fact.id == "meeting_participants"


# The mechanics on a knowledge base built for the test, independent of the article's data.
ARTICLE = "Alpha sold 10 apples in 2020. Beta sold 20 pears in 2021. Gamma met Delta online."
KB_YAML = """
version: 1
source: {title: T, outlet: O, author: A, date: "2020-01-01"}
aliases:
  apples: [apple, "äpfel*"]
  meet: [met, meeting]
stopwords: [the, a, how, many, did, what, in, by]
unanswerable:
  - How many apples did Alpha sell in 2019?
facts:
  - id: apples
    questions: [How many apples did Alpha sell in 2020?, apple sales 2020]
    answer: Alpha sold 10 apples in 2020.
    quote: Alpha sold 10 apples in 2020.
  - id: pears
    questions: [How many pears did Beta sell in 2021?, pear sales 2021]
    answer: Beta sold 20 pears in 2021.
    quote: Beta sold 20 pears in 2021.
  - id: meeting
    questions: [Who did Gamma meet?, Gamma meeting]
    answer: Gamma met Delta online.
    quote: Gamma met Delta online.
"""


@pytest.fixture(scope="module")
def toy() -> Engine:
    return Engine.build(parse_knowledge(KB_YAML, ARTICLE, "toy.yaml"))


def test_aliases_and_stems_match_variants(toy: Engine) -> None:
    assert fact_of(toy, "how many Äpfelchen did alpha sell in 2020") == "apples"
    assert fact_of(toy, "who was Gamma meeting") == "meeting"


def test_typos_are_tolerated(toy: Engine) -> None:
    assert fact_of(toy, "how many pears did Betta sel in 2021") == "pears"


def test_a_number_the_fact_lacks_refuses_it(toy: Engine) -> None:
    assert fact_of(toy, "how many pears did Beta sell in 2025") is None


def test_a_negative_example_refuses_the_fact_it_resembles(toy: Engine) -> None:
    assert fact_of(toy, "How many apples did Alpha sell in 2019?") is None
    assert fact_of(toy, "How many apples did Alpha sell in 2020?") == "apples"


def test_an_unknown_name_refuses_the_fact(toy: Engine) -> None:
    assert fact_of(toy, "Who did Gamma meet in Omsk with Zorro?") is None


def test_a_typo_of_a_word_known_only_through_an_alias_is_matched(toy: Engine) -> None:
    """The alias "meet" stands for "meeting"; "meating" is two letters from "meeting"
    but far from "meet", so it is corrected before aliases apply."""
    assert fact_of(toy, "Gamma meating") == "meeting"
    assert fact_of(toy, "Gamma meetnig") == "meeting"  # neighbours swapped


@pytest.mark.parametrize("message", ["a", "e", "E", "it"])
def test_a_lone_letter_or_pronoun_is_no_fact(engine: Engine, message: str) -> None:
    """A single letter is no word to match on (the "e" of "e-services"), and a word inside
    a whole-sentence phrasing ("was it a online") is not that phrasing."""
    assert fact_of(engine, message) is None
