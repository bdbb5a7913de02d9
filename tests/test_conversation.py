"""Conversations on a toy knowledge base: follow-ups, pronouns, "tell me more", several
questions in one message, expiry; and the ``people:`` section that pronouns rely on.

The toy engine is the lexical matcher alone (no decision file), so every outcome follows
from the toy's words, not from the shipped model.
"""

from __future__ import annotations

import pytest

from bot.conversation import (
    Conversations,
    after_fact,
    asks_for_more,
    questions_of,
    respond,
)
from bot.engine import Engine
from bot.knowledge_model import KnowledgeError
from bot.knowledge_parse import parse_knowledge
from bot.match_settings import MatchSettings
from bot.matcher import Verdict
from bot.render_html import render_html
from bot.render_json import to_json
from bot.render_plain import render_plain
from bot.replies import reply_to

ARTICLE = (
    "Anna Berg is the mayor of Alpha. Carl Dunn is the mayor of Beta. "
    "Anna Berg stressed new schools. Carl Dunn stressed better roads. "
    "Trade between the towns was 5 billion in 2020. The towns set a goal of 9 billion in 2025."
)
KB_YAML = """
version: 1
source: {title: T, outlet: O, author: A, date: "2020-01-01"}
people:
  Anna Berg: she
  Carl Dunn: he
stopwords: [the, a, is, who, what, did, how, much, was, in, of, and, about, for]
facts:
  - id: anna_role
    questions: [Who is Anna Berg?, Anna Berg mayor, Who is the mayor of Alpha?]
    answer: Anna Berg is the mayor of Alpha.
    quote: Anna Berg is the mayor of Alpha.
  - id: carl_role
    questions: [Who is Carl Dunn?, Carl Dunn mayor, Who is the mayor of Beta?]
    answer: Carl Dunn is the mayor of Beta.
    quote: Carl Dunn is the mayor of Beta.
  - id: anna_stress
    questions: [What did Anna Berg stress?, Anna Berg schools]
    answer: Anna Berg stressed new schools.
    quote: Anna Berg stressed new schools.
  - id: carl_stress
    questions: [What did Carl Dunn stress?, Carl Dunn roads]
    answer: Carl Dunn stressed better roads.
    quote: Carl Dunn stressed better roads.
  - id: trade_2020
    questions: [How much was trade in 2020?, trade 2020]
    answer: Trade was 5 billion in 2020.
    quote: Trade between the towns was 5 billion in 2020.
  - id: goal_2025
    questions:
      [What is the trade goal for 2025?, trade goal 2025, When should trade reach 9 billion?]
    answer: The goal is 9 billion in 2025.
    quote: The towns set a goal of 9 billion in 2025.
"""


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.build(parse_knowledge(KB_YAML, ARTICLE, "<memory>"))


def talk(engine: Engine, *messages: str, gap: float = 1.0) -> list[list[str | None]]:
    """Each message's given facts (None for a declined part), one conversation, ``gap``
    seconds apart on a fake clock; context is kept as the bot keeps it."""
    conversations = Conversations()
    out = []
    for n, message in enumerate(messages):
        reply = conversations.respond(engine, "c", message, now=n * gap)
        out.append([p.fact.id if p.fact else None for p in reply.shown_parts()])
    return out


def test_pronouns_resolve_to_the_person_of_the_previous_turn(engine: Engine) -> None:
    assert talk(engine, "who is Anna Berg?", "what did she stress?") == [
        ["anna_role"],
        ["anna_stress"],
    ]
    assert talk(engine, "who is Carl Dunn?", "and what did he stress?")[1] == ["carl_stress"]


def test_a_pronoun_that_fits_nobody_of_the_previous_turn_is_not_guessed(engine: Engine) -> None:
    # "he" after a question about Anna Berg: she is not "he", so nothing is substituted.
    got = talk(engine, "who is Anna Berg?", "what did he stress?")[1]
    assert got != ["anna_stress"]


def test_a_new_number_replaces_the_previous_questions(engine: Engine) -> None:
    assert talk(engine, "how much was trade in 2020?", "and in 2025?")[1] == ["goal_2025"]


def test_a_follow_up_the_article_cannot_answer_stays_declined(engine: Engine) -> None:
    """Context never makes a wrong answer out of a right decline."""
    for follow_up in ("and in 2031?", "what about pizza?", "and bananas?"):
        assert talk(engine, "how much was trade in 2020?", follow_up)[1] == [None], follow_up
    # Each is declined alone too: the context added nothing wrong.
    assert reply_to(engine, "what about pizza?").fact is None


def test_a_fragment_that_resolves_to_the_same_fact_is_not_an_answer(engine: Engine) -> None:
    # "why?" adds nothing the engine can use: the 2020 figure is not a reason.
    assert talk(engine, "how much was trade in 2020?", "why?")[1] == [None]


def test_tell_me_more_gives_each_related_fact_once(engine: Engine) -> None:
    turns = talk(engine, "who is Anna Berg?", "tell me more", "anything else?", "go on")
    given = [t[0] for t in turns]
    assert given[0] == "anna_role"
    assert None not in given[1:]
    assert len(set(given)) == len(given)  # never the same fact twice


def test_tell_me_more_follows_the_sentence_first(engine: Engine) -> None:
    # Facts proved by the same sentence come first; here each fact has its own, so the
    # next is the one stating most of the same words (without a meaning model).
    assert talk(engine, "how much was trade in 2020?", "tell me more")[1] == ["goal_2025"]


def test_a_topic_switch_is_answered_as_it_stands(engine: Engine) -> None:
    assert talk(engine, "who is Anna Berg?", "How much was trade in 2020?")[1] == ["trade_2020"]


def test_context_expires(engine: Engine) -> None:
    fresh = talk(engine, "how much was trade in 2020?", "and in 2025?", gap=1.0)
    stale = talk(engine, "who is Anna Berg?", "what did she stress?", gap=601.0)
    assert fresh[1] == ["goal_2025"]
    assert stale[1] != ["anna_stress"]


def test_without_context_a_message_gets_the_single_question_reply(engine: Engine) -> None:
    for question in ("who is Anna Berg?", "and in 2025?", "what did she stress?", "pizza"):
        alone, conversed = reply_to(engine, question), respond(engine, question).reply
        assert (conversed.fact, conversed.verdict) == (alone.fact, alone.verdict), question


def test_several_questions_in_one_message_are_each_answered_with_a_quote(
    engine: Engine,
) -> None:
    text = "How much was trade in 2020 and what is the trade goal for 2025?"
    reply = respond(engine, text).reply
    assert [p.fact.id for p in reply.parts if p.fact] == ["trade_2020", "goal_2025"]
    plain = render_plain(reply)
    assert "Trade between the towns was 5 billion in 2020." in plain
    assert "The towns set a goal of 9 billion in 2025." in plain
    assert render_html(reply).count("<blockquote>") == 2
    out = to_json(reply)
    assert out["answered"] is True
    assert [p["fact_id"] for p in out["parts"]] == ["trade_2020", "goal_2025"]
    assert out["quote"].splitlines() == [p["quote"] for p in out["parts"]]


def test_a_part_the_article_does_not_cover_is_named(engine: Engine) -> None:
    reply = respond(engine, "who is Anna Berg and when did she marry?").reply
    assert [p.fact.id if p.fact else None for p in reply.parts] == ["anna_role", None]
    assert "The article doesn't say: “when did she marry”" in render_plain(reply)


def test_a_short_second_question_leans_on_the_first(engine: Engine) -> None:
    reply = respond(engine, "who is Carl Dunn and what did he stress?").reply
    assert [p.fact.id for p in reply.parts if p.fact] == ["carl_role", "carl_stress"]


def test_message_splitting() -> None:
    assert questions_of("who met and when?") == ["who met", "when?"]
    assert questions_of("Hi! I read it. Who is Anna Berg?") == ["Hi! I read it. Who is Anna Berg?"]
    assert questions_of("Who is Anna Berg? Who is Carl Dunn?") == [
        "Who is Anna Berg?",
        "Who is Carl Dunn?",
    ]
    assert questions_of("What did Anna Berg and Carl Dunn stress?") == [
        "What did Anna Berg and Carl Dunn stress?"
    ]


@pytest.mark.parametrize(
    "text", ["tell me more", "ok, anything else?", "Tell me more about it", "подробнее", "devam"]
)
def test_asks_for_more(text: str) -> None:
    assert asks_for_more(text)


@pytest.mark.parametrize("text", ["more trade in 2020?", "what else did Anna Berg build in 2020?"])
def test_not_asking_for_more(text: str) -> None:
    assert not asks_for_more(text)


def test_a_tapped_fact_becomes_the_context(engine: Engine) -> None:
    fact = engine.kb.fact("anna_role")
    assert fact is not None
    context = after_fact(None, fact, "en", 0.0)
    assert respond(engine, "what did she stress?", context, 1.0).reply.fact == engine.kb.fact(
        "anna_stress"
    )


def test_the_store_forgets_old_and_least_recent_conversations(engine: Engine) -> None:
    store = Conversations(max_age=10.0, limit=2)
    fact = engine.kb.facts[0]
    for key in ("a", "b", "c"):
        store.put(key, after_fact(None, fact, "en", 0.0))
    assert len(store) == 2 and store.get("a", 1.0) is None  # the least recent went first
    assert store.get("c", 5.0) is not None
    assert store.get("c", 11.0) is None  # too old
    assert Conversations(max_age=0).get("x", 0.0) is None


def test_people_must_be_names_of_the_article_with_a_pronoun() -> None:
    bad = KB_YAML.replace("Carl Dunn: he", "Carl Dunn: it\n  Zed Quo: she")
    with pytest.raises(KnowledgeError) as caught:
        parse_knowledge(bad, ARTICLE, "toy.yaml")
    text = str(caught.value)
    assert "'Carl Dunn' must be 'he' or 'she'" in text
    assert "'Zed Quo' is not a name in the article" in text


def test_declined_follow_up_offers_what_the_conversation_has_not_seen(engine: Engine) -> None:
    turn = respond(engine, "how much was trade in 2020?")
    declined = respond(engine, "why?", turn.context, 1.0).reply
    assert declined.verdict is Verdict.NO_ANSWER
    assert engine.kb.fact("trade_2020") not in declined.suggestions
    assert declined.suggestions


def test_a_comparison_gets_both_facts(engine: Engine) -> None:
    reply = respond(engine, "which is bigger, trade in 2020 or the trade goal for 2025?").reply
    assert [p.fact.id for p in reply.parts if p.fact] == ["trade_2020", "goal_2025"]
    turns = talk(engine, "how much was trade in 2020?", "how far is that from the trade goal?")
    assert turns[1] == ["trade_2020", "goal_2025"]


def test_comparison_words_alone_do_not_make_an_answer(engine: Engine) -> None:
    for question in ("how far is the moon?", "which is bigger, a cat or a dog?"):
        assert talk(engine, question) == [[None]], question
    assert talk(engine, "how much was trade in 2020?", "how far is the moon?")[1] == [None]


def test_what_else_gives_a_fact_of_the_same_person_not_yet_given(engine: Engine) -> None:
    turns = talk(engine, "who is Anna Berg?", "what else did she stress?")
    assert turns[1] == ["anna_stress"]


def test_a_bare_question_word_may_be_answered_by_the_last_fact(engine: Engine) -> None:
    # "when?" after the goal: one of the goal's phrasings asks when, so it answers; the 2020
    # figure's phrasings never ask why, so "why?" after it is declined (above).
    assert talk(engine, "what is the trade goal for 2025?", "when?")[1] == ["goal_2025"]


def test_and_when_asks_about_the_last_topic_not_what_when_alone_asks() -> None:
    """Alone, "when?" may ask when the article appeared; "and when?" after "who is Anna
    Berg?" asks when about her, which nothing answers: declined, not the article's date."""
    dated = KB_YAML + (
        "  - id: article_date\n"
        "    questions: [When was the article published?, when?, date?]\n"
        "    answer: The article is dated 1 January 2020.\n"
        "    quote: Anna Berg is the mayor of Alpha.\n"
    )
    engine = Engine.build(parse_knowledge(dated, ARTICLE, "<memory>"))
    assert reply_to(engine, "when?").fact is not None
    assert talk(engine, "Who is Anna Berg?", "and when?")[1] == [None]
    assert talk(engine, "Who is Anna Berg?", "and the mayor of Beta?")[1] == ["carl_role"]


def test_a_follow_up_is_answered_when_two_of_its_readings_agree() -> None:
    """Each reading of "and the goal?" alone is only "probably the goal" here (a strict
    answer threshold); two readings (the words alone, and merged into the last question)
    agreeing on a fact the conversation has not had yet are an answer."""
    strict = Engine.build(
        parse_knowledge(KB_YAML, ARTICLE, "<memory>"), MatchSettings(answer_threshold=90.0)
    )
    assert reply_to(strict, "the goal?").verdict is Verdict.UNCERTAIN
    assert talk(strict, "how much was trade in 2020?", "and the goal?")[1] == ["goal_2025"]
    conversations = Conversations()
    conversations.respond(strict, "c", "how much was trade in 2020?", now=0.0)
    reply = conversations.respond(strict, "c", "and the goal?", now=1.0)
    assert reply.why is not None and "2 readings of it agree on goal_2025" in reply.why.reason
    assert reply.verdict is Verdict.ANSWER and not reply.suggestions  # an answer, not a guess
    # One reading is not enough: "and in 2031?" agrees with nothing.
    assert talk(strict, "how much was trade in 2020?", "and in 2031?")[1] == [None]
