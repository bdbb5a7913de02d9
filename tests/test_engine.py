"""The engine's mechanics on a toy knowledge base: candidates, the rule, the decision, explain.

The meaning model here is :class:`bot.meaning.HashEmbedder` (character trigrams) and the rule's
weights are set by the test, so every outcome follows from the test's own numbers, not from
the shipped model or the fitted file.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bot.decision import NAMES, Rule, RuleError, fit, parse_rule, read_rule
from bot.engine import Engine, Why, _segments, split_questions
from bot.knowledge_load import load_knowledge
from bot.knowledge_model import KnowledgeBase, KnowledgeError
from bot.knowledge_parse import parse_knowledge
from bot.matcher import Verdict
from bot.meaning import HashEmbedder, Meaning, VectorFile, cut, text_key
from bot.render_json import to_json
from bot.replies import reply_to

ARTICLE = (
    "Alpha sold 10 apples in 2020. Beta sold 20 pears in 2021. Gamma met Delta online. "
    "Alpha set a goal to sell 30 plums in 2022."
)
KB_YAML = """
version: 1
source: {title: T, outlet: O, author: A, date: "2020-01-01"}
stopwords: [the, a, how, many, did, what, in, by, who]
chit_chat:
  greeting: [hello there, good morning]
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
  - id: goal
    questions: [What is Alpha's goal for plums in 2022?, plum goal 2022]
    answer: Alpha set a goal to sell 30 plums in 2022.
    quote: Alpha set a goal to sell 30 plums in 2022.
"""


def rule_on(feature: str, weight: float = 8.0, bias: float = -4.0, **changes: float) -> Rule:
    """A rule that listens to one feature only (standardised around 0.5)."""
    weights = tuple(weight if n == feature else 0.0 for n in NAMES)
    base = Rule(
        model=HashEmbedder.name,
        mean=(0.5,) * len(NAMES),
        scale=(0.5,) * len(NAMES),
        weight=weights,
        bias=bias,
        answer_at=0.8,
        uncertain_at=0.5,
        consult_floor=0.0,
        smalltalk_at=0.99,
    )
    return replace(base, **changes)


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return parse_knowledge(KB_YAML, ARTICLE, "toy.yaml")


def engine_with(kb: KnowledgeBase, rule: Rule | None) -> Engine:
    return Engine.build(kb, rule=rule, meaning=Meaning(HashEmbedder()) if rule else None)


def test_without_a_rule_the_engine_is_the_lexical_matcher(kb: KnowledgeBase) -> None:
    engine = engine_with(kb, None)
    match = engine.match("How many pears did Beta sell in 2021?")
    assert match.fact is not None and match.fact.id == "pears"
    assert isinstance(match.why, Why) and "lexical" in match.why.reason


def test_the_candidate_with_the_highest_probability_is_answered(kb: KnowledgeBase) -> None:
    engine = engine_with(kb, rule_on("lex"))
    match = engine.match("How many pears did Beta sell in 2021?")
    assert match.verdict is Verdict.ANSWER
    assert match.fact is not None and match.fact.id == "pears"
    probabilities = [c.probability for c in match.why.candidates]
    assert probabilities == sorted(probabilities, reverse=True)
    assert match.why.candidates[0].fact.id == "pears"
    assert match.score == pytest.approx(100 * probabilities[0], abs=0.1)


def test_between_the_thresholds_the_answer_is_uncertain(kb: KnowledgeBase) -> None:
    engine = engine_with(kb, rule_on("lex", answer_at=0.9999, uncertain_at=0.01))
    match = engine.match("How many pears did Beta sell in 2021?")
    assert match.verdict is Verdict.UNCERTAIN and match.fact is not None


def test_below_uncertain_at_the_article_does_not_say(kb: KnowledgeBase) -> None:
    # A rule whose bias makes every probability tiny declines even a perfect lexical match.
    engine = engine_with(kb, rule_on("lex", bias=-40.0))
    match = engine.match("How many pears did Beta sell in 2021?")
    assert match.verdict is Verdict.NO_ANSWER and match.fact is None
    assert "< 0.50" in match.why.reason


def test_below_the_consult_floor_the_model_is_not_asked(kb: KnowledgeBase) -> None:
    engine = engine_with(kb, rule_on("lex", consult_floor=99.5))
    match = engine.match("pears of Beta")
    assert match.verdict is Verdict.NO_ANSWER
    assert not match.why.consulted and "no fact considered" in match.why.reason


def test_below_the_consult_floor_small_talk_is_still_recognised(kb: KnowledgeBase) -> None:
    engine = engine_with(kb, rule_on("lex", consult_floor=99.5, smalltalk_at=0.3))
    match = engine.match("hello therre, good mornin")
    assert match.verdict is Verdict.SMALLTALK and match.intent == "greeting"


def test_a_feature_with_negative_weight_turns_the_decision(kb: KnowledgeBase) -> None:
    # The same question flips when the rule says lexical evidence counts against a fact.
    question = "How many pears did Beta sell in 2021?"
    assert fact_id(engine_with(kb, rule_on("lex")), question) == "pears"
    assert fact_id(engine_with(kb, rule_on("lex", weight=-8.0, bias=0.0)), question) != "pears"


def fact_id(engine: Engine, question: str) -> str | None:
    fact = engine.match(question).fact
    return fact.id if fact else None


def test_lexical_small_talk_is_small_talk_whatever_the_rule(kb: KnowledgeBase) -> None:
    match = engine_with(kb, rule_on("lex")).match("hello there")
    assert match.verdict is Verdict.SMALLTALK and match.intent == "greeting"


def test_semantic_small_talk_needs_the_similarity_threshold(kb: KnowledgeBase) -> None:
    question = "hello there, good mornings to all pears"
    strict = engine_with(kb, rule_on("lex", bias=-40.0, smalltalk_at=0.999))
    loose = engine_with(kb, rule_on("lex", bias=-40.0, smalltalk_at=0.05))
    assert strict.match(question).verdict is Verdict.NO_ANSWER
    lenient = loose.match(question)
    assert lenient.verdict is Verdict.SMALLTALK and "small talk" in lenient.why.reason


def test_a_fact_answers_an_outcome_question_only_if_its_phrasings_ask_one(
    kb: KnowledgeBase,
) -> None:
    engine = engine_with(kb, rule_on("lex"))
    assert fact_id(engine, "What is Alpha's goal for plums in 2022?") == "goal"
    declined = engine.match("did Alpha reach the plum goal in 2022?")
    assert declined.fact is None and "outcome" in declined.why.reason
    asked = parse_knowledge(
        KB_YAML.replace("plum goal 2022]", "plum goal 2022, Did Alpha reach the plum goal?]"),
        ARTICLE,
        "toy.yaml",
    )
    assert fact_id(engine_with(asked, rule_on("lex")), "did Alpha reach the plum goal?") == "goal"


def test_a_fact_answers_no_year_its_texts_do_not_name(kb: KnowledgeBase) -> None:
    engine = engine_with(kb, rule_on("lex"))
    assert fact_id(engine, "How many pears did Beta sell in 2021?") == "pears"
    declined = engine.match("How many pears did Beta sell in 2023?")
    assert declined.fact is None and "year or time" in declined.why.reason


def test_a_fact_answers_another_time_only_if_its_texts_speak_of_it() -> None:
    # As stopwords, "before" and "still" cost the lexical score nothing: only the time
    # scope can refuse.
    lenient = KB_YAML.replace("in, by, who]", "in, by, who, before, still, does]")
    engine = engine_with(parse_knowledge(lenient, ARTICLE, "toy.yaml"), rule_on("lex"))
    assert fact_id(engine, "Who did Gamma meet?") == "meeting"
    assert fact_id(engine, "Who did Gamma meet before?") is None
    assert fact_id(engine, "Does Gamma still meet Delta?") is None
    asked = parse_knowledge(
        lenient.replace("Gamma meeting]", "Gamma meeting, Who did Gamma meet before?]"),
        ARTICLE,
        "toy.yaml",
    )
    assert fact_id(engine_with(asked, rule_on("lex")), "Who did Gamma meet before?") == "meeting"


def test_a_chatty_message_is_also_judged_by_its_last_question() -> None:
    message = "Hi there, I read your news today and found it nice. Who did Gamma meet?"
    assert _segments(message) == [message, "Who did Gamma meet?"]
    assert _segments("Who did Gamma meet?") == ["Who did Gamma meet?"]
    assert _segments("Hi. Who did Gamma meet?") == [
        "Hi. Who did Gamma meet?",
        "Who did Gamma meet?",
    ]
    assert _segments("Thanks a lot. Bye now.") == ["Thanks a lot. Bye now."]  # asks nothing


def test_joined_questions_are_judged_one_by_one() -> None:
    message = "how many apples did Alpha sell and who did Gamma meet?"
    assert _segments(message)[1:] == ["how many apples did Alpha sell", "who did Gamma meet?"]
    # "and" inside one question is not a second question
    assert _segments("did Gamma and Delta meet online?") == ["did Gamma and Delta meet online?"]


def test_explain_names_every_feature_and_the_thresholds(kb: KnowledgeBase) -> None:
    engine = engine_with(kb, rule_on("lex"))
    text = engine.explain("How many pears did Beta sell in 2021?")
    assert text.splitlines()[1].startswith("verdict: answer pears")
    for name in NAMES:
        assert f"{name}=" in text
    assert "answer at p >= 0.80" in text and "suggestions at p >= 0.50" in text


def test_json_reply_carries_why_and_margin(kb: KnowledgeBase) -> None:
    data = to_json(reply_to(engine_with(kb, rule_on("lex")), "How many pears did Beta sell?"))
    assert isinstance(data["margin"], float)
    assert data["why"]["reason"].startswith("pears")
    first = data["why"]["candidates"][0]
    assert first["fact_id"] == "pears" and set(first["features"]) == set(NAMES)


# --- the decision file -----------------------------------------------------------------------


def test_a_rule_survives_its_file() -> None:
    rule = rule_on("sem", fitted="test")
    again = parse_rule(rule.to_yaml(), "decision.yaml")
    assert again.weight == rule.weight and again.answer_at == rule.answer_at
    assert again.fitted == "test"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace("  lex_answer:", "  lex_answr:"), "features must be exactly"),
        (lambda t: t.replace("answer_at: 0.8", "answer_at: high"), "'answer_at' must be a number"),
        (
            lambda t: t.replace("uncertain_at: 0.5", "uncertain_at: 0.9"),
            "uncertain_at <= answer_at",
        ),
        (lambda t: t.replace("scale: 0.5", "scale: 0", 1), "'scale' must be positive"),
        (lambda t: t.replace("bias: -4.0", "bias: .nan"), "'bias' must be a number"),
        (lambda t: "features: [", "not valid YAML"),
        (lambda t: "- 1\n", "expected a mapping"),
    ],
)
def test_a_broken_decision_file_is_one_clear_error(
    edit: Callable[[str], str], message: str
) -> None:
    with pytest.raises(RuleError, match=r"decision\.yaml") as caught:
        parse_rule(edit(rule_on("lex").to_yaml()), "decision.yaml")
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_a_broken_decision_file_refuses_the_knowledge_base(tmp_path: Path) -> None:
    """Beside a knowledge file it is a knowledge error, so a reload keeps the old engine."""
    facts = tmp_path / "facts.yaml"
    facts.write_text(KB_YAML, encoding="utf-8")
    (tmp_path / "decision.yaml").write_text("features: 3\n", encoding="utf-8")
    kb = parse_knowledge(KB_YAML, ARTICLE, str(facts))
    with pytest.raises(KnowledgeError, match=r"decision\.yaml"):
        Engine.build(kb, meaning=Meaning(HashEmbedder()))
    assert read_rule(tmp_path / "missing.yaml") is None


def test_fit_finds_the_feature_that_separates() -> None:
    rows = [(float(i % 2), float(i % 3)) for i in range(60)]
    labels = [float(i % 2) for i in range(60)]
    mean, scale, weight, _bias = fit(rows, labels)
    assert weight[0] > 2.0 and abs(weight[1]) < 0.5
    assert len(mean) == len(scale) == 2


# --- meaning vectors -------------------------------------------------------------------------


def test_vector_file_keeps_exactly_the_texts_in_use(tmp_path: Path) -> None:
    store = tmp_path / "embeddings.npz"
    meaning = Meaning(HashEmbedder(), store)
    meaning.space(["one text", "another text"], [0, 1])
    assert len(VectorFile.read(store).vectors) == 2
    meaning.space(["one text"], [0])
    kept = VectorFile.read(store).vectors
    assert list(kept) == [text_key(HashEmbedder.name, "one text")]


def test_an_unreadable_vector_file_is_embedded_afresh(tmp_path: Path) -> None:
    store = tmp_path / "embeddings.npz"
    store.write_bytes(b"not a zip file")
    space = Meaning(HashEmbedder(), store).space(["one text"], [0])
    assert space.matrix.shape == (1, 256)


def test_a_long_message_is_cut_to_its_last_words() -> None:
    words = [f"w{i}" for i in range(100)]
    assert cut(" ".join(words)).split() == words[-48:]
    assert cut("short question") == "short question"


# --- the shipped files -----------------------------------------------------------------------


class _NoModel:
    """An embedder that must not be needed: every shipped text has its vector already."""

    def __init__(self, name: str) -> None:
        self.name = name

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        raise AssertionError(f"knowledge/embeddings.npz lacks {len(texts)} text(s): {texts[:3]}")


def test_the_shipped_vector_file_holds_exactly_the_shipped_texts(tmp_path: Path) -> None:
    """Start-up embeds nothing, and the file carries no stale vectors (run the bot once
    after editing the knowledge file to refresh it)."""
    from bot.meaning import shared_e5

    root = Path(__file__).resolve().parent.parent / "knowledge"
    store = tmp_path / "embeddings.npz"
    shutil.copyfile(root / "embeddings.npz", store)
    kb = load_knowledge(root / "facts.yaml", root / "article.txt")
    Engine.build(kb, rule=None, meaning=Meaning(_NoModel(shared_e5().name), store))
    assert store.read_bytes() == (root / "embeddings.npz").read_bytes()


def test_the_shipped_rule_is_for_the_shipped_model() -> None:
    from bot.meaning import shared_e5

    rule = read_rule(Path(__file__).resolve().parent.parent / "knowledge" / "decision.yaml")
    assert rule is not None and rule.model == shared_e5().name


@pytest.mark.parametrize(
    ("message", "parts"),
    [
        ("who met and when did they meet?", ["who met", "when did they meet?"]),
        # The question word late in each clause, joined by a comma or a conjunction.
        (
            "Babayev'in görevi ne, Yanık'ın görevi ne?",
            ["Babayev'in görevi ne", "Yanık'ın görevi ne?"],
        ),
        (
            "ticarət hədəfi nədir və dövriyyə nə qədər olub?",
            ["ticarət hədəfi nədir", "dövriyyə nə qədər olub?"],
        ),
        ("Кто такой Бабаев и кем работает Янык?", ["Кто такой Бабаев", "кем работает Янык?"]),
        # A list asks nothing after its commas: one question.
        (
            "What did he say about the disabled, elderly, children and women?",
            ["What did he say about the disabled, elderly, children and women?"],
        ),
        ("Who met, and what did they discuss?", ["Who met", "what did they discuss?"]),
    ],
)
def test_split_questions_finds_each_question_a_sentence_joins(
    message: str, parts: list[str]
) -> None:
    assert split_questions(message) == parts


def test_each_fact_keeps_a_bounded_list_of_related_facts() -> None:
    """ "Tell me more" needs each fact's nearest others, not every pair: that was quadratic
    (7,700 facts took minutes and gigabytes). Near neighbours in the article come first when
    nothing else tells facts apart."""
    from bot.engine import MAX_RELATED

    count = MAX_RELATED * 3
    article = " ".join(f"Town{k} has {k} parks." for k in range(count))
    facts = "".join(
        f"  - id: town{k}\n    questions: [How many parks has Town{k}?]\n"
        f"    answer: Town{k} has {k} parks.\n    quote: Town{k} has {k} parks.\n"
        for k in range(count)
    )
    source = "source: {title: T, outlet: O, author: A, date: '2020-01-01'}"
    text = f"version: 1\n{source}\nfacts:\n{facts}"
    engine = Engine.build(parse_knowledge(text, article, "<memory>"))
    middle = engine.related(f"town{count // 2}")
    assert len(middle) == MAX_RELATED
    assert [f.id for f in middle[:2]] == [f"town{count // 2 - 1}", f"town{count // 2 + 1}"]
    assert all(len(engine.related(f"town{k}")) == MAX_RELATED for k in range(count))
