"""Recognising small talk: the chit-chat intent a whole message amounts to, if any.

Small talk is recognised on the words as written, before aliases.
"""

from __future__ import annotations

from bot.knowledge_model import KnowledgeBase
from bot.match_settings import MatchSettings
from bot.normalise import normalise
from bot.phrase_match import whole_phrase, word_index, wrapped_phrase
from bot.word_lookup import WordLookup, Words

_EXACT = 95.0


class SmallTalk:
    """The knowledge base's chit-chat phrases, ready to be compared with a message."""

    def __init__(
        self,
        kb: KnowledgeBase,
        lookup: WordLookup,
        fact_vocab: frozenset[str],
        settings: MatchSettings,
    ) -> None:
        self.lookup = lookup
        self.fact_vocab = fact_vocab  # every word of the facts, to tell a message about them
        self.settings = settings
        self.words: set[str] = set()
        self.texts: list[str] = []
        self.intents: list[str] = []
        for intent, phrasings in kb.chit_chat.items():
            for text in phrasings:
                self.texts.append(" ".join(normalise(text)))
                self.words.update(lookup.tokens(text))
                self.intents.append(intent)
        self.index = word_index(self.texts)

    def recognise(
        self, question: str, words: Words | None = None
    ) -> tuple[str | None, float, bool]:
        """The chit-chat intent the whole message amounts to, if any, and its score.

        Small talk is compared word for word, before aliases: "help" must stay "help"
        even where the knowledge file maps it to "support" for the facts.
        """
        words = words or self.lookup.words(question)
        raw = words.raw
        if not self.texts or not raw:
            return None, 0.0, False
        content = [t for t in raw if t not in self.lookup.stopwords]
        # A message with no word of the article may wrap small talk in extra words
        # ("great answer, thanks"); one that names the article's words may not.
        about_article = any(t in self.fact_vocab and t not in self.words for t in words.tokens)
        cutoff = self.settings.smalltalk_threshold
        raw_text = " ".join(raw)
        whole = whole_phrase(raw_text, self.texts, cutoff)
        exact = whole is not None and whole[1] >= _EXACT
        best_intent, best_score = None, 0.0
        # Without its stopwords a message may match a phrase better ("thank you so much" vs
        # "thanks"); a message about the article is small talk only as a whole, if at all.
        texts = (raw_text,) if about_article else (raw_text, " ".join(content))
        for text in dict.fromkeys(texts):
            if not text:
                continue
            found = whole if text == raw_text else whole_phrase(text, self.texts, cutoff)
            if not about_article:
                found = wrapped_phrase(text, self.texts, self.index, cutoff, found)
            if found is not None and found[1] > best_score:
                best_intent, best_score = self.intents[found[2]], float(found[1])
        return best_intent, best_score, exact
